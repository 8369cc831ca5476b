"""Settings MMEngine reads with ``.get`` or passes on to a function, checked
before the runner is built.

Why: MMEngine ignores a misspelt key of ``env_cfg`` or ``auto_scale_lr``
(``cudnn_benchmrk``, ``base_batchsize``), and hands a data loader's,
``randomness``'s or ``clip_grad``'s keys to PyTorch or to its own functions,
whose ``TypeError`` names neither the setting nor what was meant
(``DataLoader.__init__() got an unexpected keyword argument 'batchsize'``),
and for ``clip_grad`` only at the first step.
"""
import inspect
import logging
from typing import Iterable, List, Mapping

from dld.utils.close_names import did_you_mean

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


class ConfigSettingError(ValueError):
    """A setting of the config the runner would ignore or refuse late."""


def _parameters(func, *dropped: str) -> List[str]:
    return [p for p in inspect.signature(func).parameters if p not in ('self', *dropped)]


def _known_keys() -> dict:
    """Setting (a dotted path) -> the keys it takes."""
    import torch.nn.utils as nn_utils
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader
    # and what MMEngine's build_dataloader takes out first
    loader = _parameters(DataLoader.__init__) + ['num_batch_per_epoch',
                                                 'disable_subprocess_warning']
    clip = (['type'] + _parameters(nn_utils.clip_grad_norm_, 'parameters')
            + _parameters(nn_utils.clip_grad_value_, 'parameters'))
    return {
        **{name: loader for name in LOADERS},
        'auto_scale_lr': ['enable', 'base_batch_size'],
        'env_cfg': ['cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'],
        'randomness': _parameters(Runner.set_randomness),
        'optim_wrapper.clip_grad': sorted(set(clip)),
    }


#: The default hooks MMEngine builds itself: an entry of that name without
#: a ``type`` changes its settings (``logger=dict(interval=10)``).
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                          'checkpoint')


def check_runner_settings(cfg) -> None:
    """Raise a ``ValueError`` naming each key of those settings that MMEngine
    would ignore or hand on to be refused, with the close names, and each
    ``default_hooks`` entry that names no hook."""
    problems = []
    for path, known in _known_keys().items():
        section = _get(cfg, path)
        if isinstance(section, Mapping):
            problems += [_problem(path, key, known) for key in section if key not in known]
    problems += _default_hook_problems(cfg.get('default_hooks'))
    problems += _sync_bn_problems(cfg)
    if problems:
        raise ConfigSettingError('; '.join(problems))


def _sync_bn_problems(cfg) -> List[str]:
    """``sync_bn`` makes every BatchNorm of a distributed run a
    ``SyncBatchNorm``, a scale-aware one (``scale_norm``: one set of
    statistics per scale, a DLD student's by default) too, which then failed
    in its first forward ('running_mean should contain 32 elements not 96')
    on several GPUs. One process converts nothing."""
    model = cfg.get('model')
    if not cfg.get('sync_bn') or cfg.get('launcher', 'none') == 'none' or \
            not isinstance(model, Mapping) or not _keeps_norm_per_scale(model):
        return []
    return [f"sync_bn={cfg.get('sync_bn')!r}: the model keeps BatchNorm statistics per scale "
            '(scale_norm; a DLD student\'s, model.student_scale_norm), which SyncBatchNorm '
            'cannot hold; leave sync_bn out: SyncNormStatsHook (in default_hooks) averages '
            "every process's statistics after each epoch"]


def _keeps_norm_per_scale(model: Mapping) -> bool:
    """Whether the model ``model`` configures has BatchNorm statistics per
    scale, by the distiller's rule: a student of several scales (a selector's;
    one fixed scale without one) unless ``student_scale_norm=False``."""
    student = model.get('student') if isinstance(model.get('student'), Mapping) else {}
    if model.get('scale_norm') or student.get('scale_norm'):
        return True
    from dld.models.distillers import DLDDistiller, is_distiller_type
    if not is_distiller_type(model.get('type')):
        return False
    defaults = inspect.signature(DLDDistiller.__init__).parameters
    if not model.get('student_scale_norm', defaults['student_scale_norm'].default):
        return False
    if model.get('selector', defaults['selector'].default) is None:
        return False  # one scale, fixed_scale
    return len(model.get('scales') or defaults['scales'].default) > 1


def _default_hook_problems(hooks) -> List[str]:
    """An entry without a ``type`` whose name is none of MMEngine's default
    hooks (a misspelt ``loger``) failed in MMEngine's registry with
    'must contain the key "type"', naming neither the entry nor the hook."""
    if not isinstance(hooks, Mapping):
        return []
    named = [name for name, hook in hooks.items()
             if not (isinstance(hook, Mapping) and 'type' not in hook)]
    known = sorted(set(MMENGINE_DEFAULT_HOOKS) | set(named))
    return [f'default_hooks.{name}: no type, and MMEngine has no default hook {name!r} to set '
            f"({did_you_mean(name, known) or 'its default hooks are ' + ', '.join(known)})"
            for name, hook in hooks.items()
            if isinstance(hook, Mapping) and 'type' not in hook
            and name not in MMENGINE_DEFAULT_HOOKS]


#: The ``default_hooks`` of DLD's configs (configs/_base_/default_runtime.py)
#: that are DLD's own: the checks and safeguards a config written before one
#: was added goes without.
DLD_DEFAULT_HOOKS = ('sync_norm_stats', 'epoch_seed', 'resumed_validation', 'resumed_schedule',
                     'start_checkpoint', 'label_length', 'label_chars', 'track_ids',
                     'skipped_images', 'non_finite', 'fresh_metrics', 'loader_workers',
                     'swallowed_stop', 'teacher_accuracy')
#: Where a config records the DLD default hooks it turned off (set to None),
#: which are removed from ``default_hooks`` before the runner is built.
HOOKS_OFF_KEY = 'default_hooks_off'


def drop_unset_default_hooks(cfg) -> None:
    """Remove the ``default_hooks`` entries set to None that are DLD's, not
    MMEngine's own: None turns one of MMEngine's off, and DLD's likewise
    now (``--cfg-options default_hooks.sync_norm_stats=None`` failed on
    MMEngine's bare ``assert hook is not None``). Their names are kept in
    ``default_hooks_off``, so that the config the run saves says them off,
    not missing."""
    hooks = cfg.get('default_hooks')
    if not isinstance(hooks, Mapping):
        return
    off = [n for n, hook in hooks.items() if hook is None and n not in MMENGINE_DEFAULT_HOOKS]
    for name in off:
        del hooks[name]
    if off:
        cfg[HOOKS_OFF_KEY] = sorted(set(cfg.get(HOOKS_OFF_KEY) or []) | set(off))


#: Those of :data:`DLD_DEFAULT_HOOKS` that act in a test (``runner.test()``).
TESTING_HOOKS = ('start_checkpoint', 'track_ids', 'fresh_metrics', 'loader_workers')


def warn_of_missing_default_hooks(cfg, training: bool = True) -> None:
    """Warn where a DLD config (``default_scope='dld'``) lacks DLD default
    hooks it did not turn off: a work dir's saved config of an older DLD
    spells out the hooks of its day, and resumed or tested with it, a run
    went without those added since (a resumed schedule ending early trained
    its last epoch at 2e-9, without the warning that hook gives). A test
    (not ``training``) is told of the hooks a test reads only."""
    hooks = cfg.get('default_hooks')
    if cfg.get('default_scope') != 'dld' or not isinstance(hooks, Mapping):
        return
    off = set(cfg.get(HOOKS_OFF_KEY) or [])
    missing = [n for n in (DLD_DEFAULT_HOOKS if training else TESTING_HOOKS)
               if n not in hooks and n not in off]
    if not missing:
        return
    from mmengine.logging import print_log
    print_log(f"{getattr(cfg, 'filename', None) or 'The config'}: its default_hooks lack DLD's "
              f"{', '.join(missing)} (a config of an older DLD, such as a work dir's saved "
              'one?): the run goes without them. Run with a config that inherits '
              "configs/_base_/default_runtime.py, or set default_hooks.NAME=None for each "
              'one meant to be off.', logger='current', level=logging.WARNING)


def warn_of_compile(cfg, training: bool = True) -> None:
    """Say what ``compile`` (MMEngine's ``torch.compile`` of ``train_step``)
    does to a DLD run, where it is set: a test compiles nothing (MMEngine
    compiles the training step only), and a training step recompiles for
    every batch. Its labels, valid ratios and the scales each image is read
    at reach the model as Python values (strings, lists, the sub-batch of
    each scale), on which Dynamo guards, so each new batch misses the cache
    until ``torch._dynamo.config.recompile_limit`` sends the rest back to
    eager (a tiny DLD step: 0.2 s eager, 40 to 50 s with
    ``compile.backend='eager'``, over 7 min without finishing its first
    step with Inductor on 2 cores; docs/get_started.md)."""
    compile_cfg = cfg.get('compile')
    if not compile_cfg:
        return
    from mmengine.logging import print_log
    if not training:
        print_log('compile is set, but MMEngine compiles the training step only: this '
                  'evaluation runs eagerly (as fast as without it).', logger='current',
                  level=logging.WARNING)
        return
    print_log('compile is set: each training batch brings new Python-side values (its '
              "labels, valid ratios, the images' scales) on which torch.compile guards, so "
              'every step recompiles until the recompile limit sends it back to eager: '
              'expect each of the first steps to take minutes, and no speed-up after. On a '
              'CPU, --amp (bfloat16) is what speeds training up (docs/get_started.md).',
              logger='current', level=logging.WARNING)


def warn_of_close_top_level_keys(cfg) -> None:
    """A warning for each top-level dict whose name is a runner setting's,
    misspelt (``trian_cfg``): read from a file, it is a variable of the
    config that nothing reads. (``--cfg-options`` refuses such keys; a file
    may hold variables of its own, so this is not an error.)"""
    import editdistance
    from mmengine.logging import print_log
    from mmengine.runner import Runner
    settings = set(_parameters(Runner.__init__)) - {'cfg'}
    for key, value in cfg.items():
        if key in settings or key.startswith('_') or not isinstance(value, Mapping):
            continue
        close = [s for s in settings if len(key) >= 6 and editdistance.eval(key, s) <= 2]
        if close:
            print_log(f'{key} = dict(...) is no setting the runner reads: did you mean '
                      f"{' or '.join(sorted(close))}? (a variable of the config's own is fine)",
                      logger='current', level=logging.WARNING)


def _get(cfg, path: str):
    """``cfg``'s value at ``path``; None where a part is missing. (An
    MMEngine ``Config`` is no ``Mapping``, its ``ConfigDict`` values are.)"""
    first, *rest = path.split('.')
    node = cfg.get(first)
    for part in rest:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _problem(path: str, key: str, known: Iterable[str]) -> str:
    hint = did_you_mean(key, known) or f'it takes {", ".join(known)}'
    return f'{path}.{key}: {path} takes no {key!r} ({hint})'


def check_train_loop(cfg) -> None:
    """``max_epochs`` and ``val_interval``, which MMEngine reads late: 0
    epochs trained nothing and exited 0; a ``val_interval`` of 0 trained a
    whole epoch before a ZeroDivisionError (the other settings MMEngine
    reads late: :func:`check_runner_settings`)."""
    loop = cfg.get('train_cfg') or {}
    for key, default, what in (('max_epochs', 1, 'epochs to train'),
                               ('val_interval', 1, 'validate every N epochs')):
        value = loop.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigSettingError(f'train_cfg.{key} must be an integer >= 1 ({what}), '
                                     f'got {value!r}')
