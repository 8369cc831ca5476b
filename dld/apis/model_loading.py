"""Building a trained model from its config and checkpoint, for inference and reports.

Two kinds of checkpoint are read:

* a DLD checkpoint (``model.type == 'DLDDistiller'``), full or with its
  ``teacher.*`` weights removed (``tools/extract_student.py``). The distiller
  is built with ``teacher_ckpt=None``; the teacher's and the training-only
  connectors' weights may be absent, the student's and the selector's may not.
* a plain :class:`TextRecognizer` checkpoint (teacher or no-KD baseline),
  loaded strictly. :func:`load_recognizer_weights` also takes a DLD
  checkpoint's ``student.*`` weights, to compare one DLD run's student with
  another's.

Files are read with MMEngine's ``_load_checkpoint``, which :mod:`dld.engine`
routes through ``torch.load(weights_only=True)``.
"""
import copy
import logging
import os
import os.path as osp
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

from dld.engine.checkpoint import (
    checked_checkpoint_path,
    register_checkpoint_io,
    submodule_state,
)
from dld.models.dictionary.checkpoint_fit import warn_if_decoders_other
from dld.utils.config_file import import_custom_modules, merge_config_options, read_config
from dld.utils.config_types import type_name
from dld.utils.error_lines import first_lines
from dld.utils.registry_hints import registry_hints
from dld.utils.trained_input_size import recorded_input_size

from .trained_config import scales_differ, trained_base_size, trained_scales

#: Prefixes of a DLD state dict that inference can do without (the
#: student's training-only head among them).
OPTIONAL_DLD_PREFIXES = ('teacher.', 'connectors.', 'teacher_loaded', 'skd_loss.',
                         'feature_loss.', 'logit_loss.', 'selector_loss.', 'extra_losses.',
                         'student.aux_decoder.')
#: A recognizer's training-only head (``TextRecognizer.aux_decoder``):
#: inference never runs it, so a checkpoint may lack it.
OPTIONAL_RECOGNIZER_PREFIXES = ('aux_decoder.', )
#: Prefixes that must be in a DLD checkpoint for inference.
REQUIRED_DLD_PREFIXES = ('student.', 'selector.')


class CheckpointMismatchError(RuntimeError):
    """A checkpoint lacks weights the model needs (wrong config or file)."""


def load_config(config: Union[str, Config, ConfigDict, dict],
                cfg_options: Optional[dict] = None) -> Config:
    """A :class:`Config` from a path or a config object (copied), scope set.

    ``cfg_options``: ``key=value`` overrides, as the tools' ``--cfg-options``.
    Keys MMEngine would ignore or hand on unnamed are refused
    (:func:`~dld.engine.runner_settings.check_runner_settings`).
    """
    if isinstance(config, os.PathLike):
        config = os.fspath(config)
    if isinstance(config, str):
        if not osp.isfile(config):  # one line in every tool (config_errors_exit)
            from dld.utils.config_errors import ConfigNotFoundError, no_config_file
            raise ConfigNotFoundError(no_config_file(config))
        cfg = read_config(config)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, dict):
        cfg = Config(copy.deepcopy(dict(config)))
    else:
        raise TypeError(f'config must be a path or a Config, got {type(config).__name__}')
    if not isinstance(config, str):
        import_custom_modules(cfg)
    if cfg_options:
        merge_config_options(cfg, cfg_options, config if isinstance(config, str) else None)
    from dld.engine.launch import drop_persistent_workers_without_workers
    from dld.engine.runner_settings import check_runner_settings
    # the reports and calibrate_reread.py build data loaders too
    drop_persistent_workers_without_workers(cfg)
    check_runner_settings(cfg)
    init_default_scope(cfg.get('default_scope', 'dld'))
    return cfg


def resolve_device(device: Union[str, torch.device, None] = None) -> torch.device:
    """The device to run on: ``device``, or CUDA when available, else the CPU.

    A CUDA device this machine does not have is refused with a message
    (PyTorch itself fails with an ``AssertionError`` on a CPU-only build).
    Other accelerators (MPS, NPU) are used only when named.
    """
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f'device {device!r} is not a device (e.g. cpu, cuda:0): '
                         f'{err}') from None
    if dev.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ValueError(f'device {device!r}: no CUDA device here; use cpu')
        if dev.index is not None and dev.index >= count:
            raise ValueError(f'device {device!r}: this machine has {count} CUDA device(s), '
                             f'cuda:0 to cuda:{count - 1}')
    elif dev.type == 'meta':
        raise ValueError(f'device {device!r} holds no data: it cannot read plates')
    elif dev.type != 'cpu':
        try:  # another accelerator (mps, xpu...): is it here?
            torch.empty(1, device=dev)
        except (RuntimeError, AssertionError, AttributeError, ImportError) as err:
            # its first line: torch goes on with its dispatcher's every backend
            first = (str(err).splitlines() or [type(err).__name__])[0].split('. ')[0]
            raise ValueError(f'device {device!r} is not available here: {first}') from None
    return dev


def is_distiller_config(model_cfg: dict) -> bool:
    """Whether ``model_cfg`` builds a DLD distiller (or a subclass of one)."""
    from dld.models.distillers import is_distiller_type
    return is_distiller_type(model_cfg.get('type'))


def build_model_for_inference(model_cfg: dict) -> nn.Module:
    """Build ``model_cfg``; a distiller is built without loading its teacher."""
    from dld.models.distillers.distiller_checks import built_for_reading
    from dld.registry import MODELS
    model_cfg = copy.deepcopy(model_cfg)
    if is_distiller_config(model_cfg):
        model_cfg['teacher_ckpt'] = None
    with registry_hints(), built_for_reading():
        return MODELS.build(model_cfg)


def read_checkpoint(checkpoint: str) -> dict:
    """A checkpoint file's dict, read on the CPU with the safe loader."""
    checkpoint = checked_checkpoint_path(checkpoint)
    # Routes MMEngine's local loader through torch.load(weights_only=True).
    register_checkpoint_io()
    # MMEngine says which backend loads it with a bare print() to stdout (its
    # logger=None), into a service's own output: the caller knows the file
    ckpt = _load_checkpoint(checkpoint, map_location='cpu', logger='silent')
    if not isinstance(ckpt, dict):
        raise CheckpointMismatchError(
            f'{checkpoint}: expected a dict checkpoint, got {type(ckpt).__name__}')
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, Mapping):  # it was an AttributeError traceback ('items')
        raise CheckpointMismatchError(
            f"{checkpoint}: its state_dict is a {type(state).__name__}, not the weights by "
            'name (a dict of tensors)')
    meta = ckpt.get('meta')
    if meta is not None and not isinstance(meta, Mapping):
        raise CheckpointMismatchError(
            f'{checkpoint}: its meta is a {type(meta).__name__}, not a dict')
    return ckpt


def state_and_meta(ckpt: dict) -> Tuple[Dict[str, torch.Tensor], dict]:
    """``(state_dict, meta)`` of a checkpoint's dict; DDP ``module.`` prefixes removed."""
    state = ckpt.get('state_dict', ckpt)
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    return state, dict(ckpt.get('meta') or {})


def read_state_dict(checkpoint: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """``(state_dict, meta)`` of a checkpoint file; DDP ``module.`` prefixes removed."""
    return state_and_meta(read_checkpoint(checkpoint))


def load_weights(model: nn.Module, checkpoint: str, is_distiller: bool) -> dict:
    """Load ``checkpoint`` into ``model``; see the module docstring for what may be absent.

    Returns:
        dict: the checkpoint's ``meta``.

    Raises:
        CheckpointMismatchError: required weights are missing, or shapes differ.
    """
    state, meta = read_state_dict(checkpoint)
    if is_distiller:
        check_trained_scales(model, meta, checkpoint)
    check_trained_chars(model, meta, checkpoint)
    _load_state_naming_trained_parts(
        model, state, checkpoint, is_distiller, meta,
        getattr(model, 'student', model) if is_distiller else model, is_distiller)
    return meta


def _load_state_naming_trained_parts(model: nn.Module, state: Dict[str, torch.Tensor],
                                     name: str, is_distiller: bool, meta: dict,
                                     recognizer: nn.Module, trained_student: bool) -> None:
    """:func:`load_state`; a refusal says which parts the checkpoint's
    saved config built otherwise than ``recognizer`` (the model's, or its
    student) is built (:func:`_other_parts_trained`)."""
    try:
        load_state(model, state, name, is_distiller)
    except CheckpointMismatchError as err:
        hint = _other_parts_trained(recognizer, meta, trained_student)
        if not hint:
            raise
        raise CheckpointMismatchError(f'{err}{hint}') from None
    # the weights fit (a project's subclass of a shipped part, or a part
    # without weights of its own), but this config builds another class:
    # its forward is not the one trained
    hint = _other_parts_trained(recognizer, meta, trained_student)
    if hint:
        print_log(f'{name}: its weights fit this model, but the code reading them is not the '
                  f'code trained.{hint}', logger='current', level=logging.WARNING)


def _other_parts_trained(recognizer: nn.Module, meta: dict, trained_student: bool) -> str:
    """Where the config a checkpoint was trained with (``meta['cfg']``)
    built the recognizer's parts (``model.student``'s where
    ``trained_student``) of other types than ``recognizer`` has (a
    project's backbone, read with a shipped config), a sentence naming them
    and the trained config's ``custom_imports``; else ''."""
    from .trained_config import trained_setting
    keys = ('student', ) if trained_student else ()
    other = []
    for part in ('backbone', 'encoder', 'decoder'):
        trained = trained_setting(meta, 'model', *keys, part, 'type')
        own = getattr(recognizer, part, None)
        if isinstance(trained, str) and own is not None and \
                trained.rsplit('.', 1)[-1] != type(own).__name__:
            other.append(f'{part} {trained} (this config: {type(own).__name__})')
    if not other:
        return ''
    imports = trained_setting(meta, 'custom_imports', 'imports')
    imports = [imports] if isinstance(imports, str) else imports
    said = (f", with custom_imports {', '.join(map(repr, imports))}"
            if isinstance(imports, (list, tuple)) and imports else '')
    who = "its student's" if trained_student else 'its'
    return (f' It was trained with {who} {"; ".join(other)}{said}: read it with the config it '
            "was trained with (the run's work dir holds a copy).")


def check_trained_chars(model: nn.Module, meta: dict, name: str) -> None:
    """Refuse weights trained with other decoder characters than the
    config's decoders hold (a ``dict_file`` made again: the same size, so
    every weight fits, and each output reads as another character)."""
    from dld.models.dictionary.checkpoint_fit import other_chars
    problem = other_chars(model, meta, name)
    if problem:
        raise CheckpointMismatchError(problem)


def check_trained_scales(model: nn.Module, meta: dict, name: str) -> None:
    """Refuse a DLD checkpoint trained with other ``model.scales`` (or
    ``model.base_size``) than the config's. The selector's outputs and the student's per-scale
    BatchNorm statistics are indexed by the scales' order, so weights
    trained with ``(1.0, 0.8, 0.6)`` and read with ``(0.6, 0.8, 1.0)`` load
    without a missing key and read at the wrong scales, with the wrong
    statistics. Checkpoints without a saved config are not checked."""
    _check_scales(trained_scales(meta), getattr(model, 'scales', None), name,
                  "the selector's choices and the per-scale BatchNorm statistics")
    trained, own = trained_base_size(meta), getattr(model, 'base_size', None)
    if trained is not None and own is not None and tuple(own) != trained:
        # read silently at the other size, with the trained size's statistics
        raise CheckpointMismatchError(
            f'{name} was trained at model.base_size={trained}, the config reads at '
            f'{tuple(own)}: its scales, per-scale BatchNorm statistics, selector and FLOPs '
            'are of the trained size. Use the config it was trained with (its base_size '
            "and every pipeline's ResizePair).")


def _check_scales(trained, own, name: str, what: str) -> None:
    """Refuse weights trained on ``trained`` scales read with ``own``
    (either None: not known, not checked)."""
    if trained is None or own is None:
        return
    own = tuple(float(s) for s in own)
    if scales_differ(trained, own):
        raise CheckpointMismatchError(
            f'{name} was trained with model.scales={trained}, the config reads with {own}: '
            f'{what} follow the trained scales in their order, so the model would read at '
            'the wrong scales. Use the config it was trained with (or set model.scales to '
            'the trained ones); to read every image at one scale, use --scale (infer) or '
            'model.test_cfg.force_scale.')


def _other_decoder(model: nn.Module, state: Dict[str, torch.Tensor], prefix: str) -> str:
    """Where the checkpoint's decoder has other parts than the config's, a
    sentence naming both (a CTC checkpoint read with an attention config was
    only "lacks 13 weight(s)"); else ''."""
    from dld.models.dictionary.checkpoint_fit import other_decoder_parts
    parts = other_decoder_parts(getattr(model, 'student', model) if prefix else model, state,
                                prefix)
    return (f' {parts[0].upper()}{parts[1:]}: a checkpoint of the other decoder type (attention '
            'or CTC)? Read it with the config it was trained with.' if parts else '')


def load_state(model: nn.Module, state: Dict[str, torch.Tensor], name: str,
               is_distiller: bool) -> None:
    """:func:`load_weights` on a state dict already read; ``name`` (the file)
    is what the errors name."""
    expected = set(model.state_dict().keys())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if is_distiller:
        needed = [k for k in missing if not k.startswith(OPTIONAL_DLD_PREFIXES)]
        if needed:
            raise CheckpointMismatchError(
                f'{name} lacks {len(needed)} weight(s) the student/selector need, '
                f'e.g. {needed[:5]}.' + (_other_decoder(model, state, 'student.') or
                                         ' Is it a DLD checkpoint of this config? A plain '
                                         'recognizer checkpoint needs its own recognizer '
                                         'config.'))
        if not any(k.startswith(REQUIRED_DLD_PREFIXES) for k in state):
            raise CheckpointMismatchError(f'{name} holds no student weights.')
    elif missing := [k for k in missing if not k.startswith(OPTIONAL_RECOGNIZER_PREFIXES)]:
        hint = (' It looks like a DLD checkpoint: use the DLD config.'
                if any(k.startswith('student.') for k in state) else
                _other_decoder(model, state, ''))
        raise CheckpointMismatchError(
            f'{name} lacks {len(missing)} weight(s) of the model, e.g. {missing[:5]}.'
            + hint)
    if not is_distiller:
        _check_same_parts(name, expected, unexpected)
    if unexpected:
        print_log(f'{name}: ignoring {len(unexpected)} weight(s) the model does not '
                  f'have, e.g. {unexpected[:5]}', logger='current', level=logging.WARNING)
    try:
        model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
    except RuntimeError as err:
        from dld.models.dictionary.checkpoint_fit import other_dictionary
        from dld.models.distillers.teacher_checkpoint import other_input_channels
        cause = (_per_scale_statistics_cause(model, state) or other_dictionary(model, state)
                 or other_input_channels(model, state, "the config's model",
                                         'Read it with the config it was trained with')
                 or 'different widths?')
        raise CheckpointMismatchError(
            f'{name} does not fit the config\'s model ({cause}): {first_lines(err)}') from None


def _per_scale_statistics_cause(model: nn.Module, state: Dict[str, torch.Tensor]
                                ) -> Optional[str]:
    """Why the BatchNorm statistics differ in shape, where the number of
    scales they are kept for does (``(k, C)`` per scale, ``(C,)`` one set)."""
    own = model.state_dict()
    for key, value in state.items():
        mine = own.get(key)
        if not key.endswith('running_mean') or mine is None or value.dim() != 2:
            continue
        if mine.dim() == 2 and value.shape[1:] == mine.shape[1:] and \
                value.shape[0] != mine.shape[0]:
            return (f'it was trained with {value.shape[0]} scales, the config has '
                    f'{mine.shape[0]} (model.scales)')
        if mine.dim() == 1 and value.shape[1] == mine.shape[0]:
            return (f'it keeps BatchNorm statistics for each of {value.shape[0]} scales, '
                    "as a DLD student does, the config's model one set: give the config it "
                    'was trained with')
    return None


def _check_same_parts(name: str, expected: set, unexpected: Iterable[str]) -> None:
    """A recognizer checkpoint with weights the model lacks inside a part it
    has (``decoder.cell.*`` for a model whose decoder has none) is of
    another architecture: refused. Loaded, the weights whose names and
    shapes happen to match (a classifier) would read plates as garbage,
    with only a warning."""
    parts = {k.split('.', 1)[0] for k in expected}
    foreign = [k for k in unexpected if not k.startswith(OPTIONAL_RECOGNIZER_PREFIXES)
               and k.split('.', 1)[0] in parts]
    if foreign:
        raise CheckpointMismatchError(
            f'{name} has {len(foreign)} weight(s) inside parts of the model that the model '
            f'lacks, e.g. {foreign[:5]}: it is a checkpoint of another architecture '
            '(another decoder or encoder type?) than the config builds.')


def load_recognizer_weights(model: nn.Module, checkpoint: str) -> dict:
    """Load a recognizer from a plain recognizer checkpoint or from the student
    of a DLD checkpoint (its ``student.*`` weights); every weight the model has
    must be there, extra ones are logged. Returns ``meta``."""
    state, meta = read_state_dict(checkpoint)
    load_recognizer_state(model, state, meta, checkpoint)
    return meta


def load_recognizer_state(model: nn.Module, state: Dict[str, torch.Tensor], meta: dict,
                          name: str) -> bool:
    """:func:`load_recognizer_weights` on a checkpoint already read; returns
    whether it was a DLD checkpoint's student."""
    check_trained_chars(model, meta, name)
    student = submodule_state(state, 'student')
    if student is not None:
        own = getattr(model, 'scale_norm_scales', None)
        if own is not None:  # its BatchNorm rows must follow the trained scales
            _check_scales(trained_scales(meta), own, name, 'its per-scale BatchNorm')
        state, name = student, f'{name} (its student)'
    _load_state_naming_trained_parts(model, state, name, False, meta, model,
                                     student is not None)
    return student is not None


def init_model(config: Union[str, Config], checkpoint: Optional[str],
               device: Union[str, torch.device] = 'cpu',
               model_key: str = 'model') -> Tuple[nn.Module, Config]:
    """Build ``cfg[model_key]``, load ``checkpoint``, move to ``device``, eval mode.

    The model's ``trained_input_size`` is the ``(H, W)`` the checkpoint
    records it was trained at (None: not recorded, or no checkpoint), for
    a reader to hold against the size its pipeline gives.

    Returns:
        tuple: ``(model, cfg)``.
    """
    cfg = load_config(config)
    model_cfg = cfg[model_key]
    model = build_model_for_inference(model_cfg)
    device = resolve_device(device)
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        meta = load_weights(model, checkpoint, is_distiller_config(model_cfg))
        warn_if_other_chars(cfg, meta, checkpoint, model)
        model.trained_input_size = recorded_input_size(meta)
        model.checkpoint_meta = meta if isinstance(meta, dict) else {}
    else:
        model.trained_input_size = None
        model.checkpoint_meta = None
        print_log('No checkpoint given: the model keeps its random initialisation.',
                  logger='current', level=logging.WARNING)
    model.to(device)
    model.eval()
    return model, cfg


def warn_if_other_chars(cfg: Config, meta: dict, checkpoint: str,
                        model: Optional[nn.Module] = None) -> None:
    """Warn when the checkpoint was trained on other characters than the
    config's dictionary holds: a classifier of the same size then reads each
    index as another character (a case-swapped ``dict_file`` read ``ocean``
    as ``OCEAN``) without an error. A checkpoint that records its decoders'
    characters is refused where they differ (:func:`check_trained_chars`);
    for one saved before, ``model``'s decoders are held against its training
    set's characters too (only the decoders changed: nothing was said)."""
    trained = (meta.get('dataset_meta') or {}).get('chars')
    if model is not None:
        warn_if_decoders_other(model, meta, checkpoint)
    # the training set's is what the checkpoint recorded
    dataset = next((leaf_dataset(cfg[key].get('dataset')) for key in
                    ('train_dataloader', 'val_dataloader', 'test_dataloader')
                    if isinstance(cfg.get(key), dict)), None)
    if not trained or not isinstance(dataset, dict):
        return
    try:
        dictionary = dataset_dictionary(dataset)
    except Exception:  # noqa: BLE001 - the dataset reports its own dictionary's errors
        return
    chars = ''.join(dictionary.dict[:dictionary.num_chars])
    if chars != trained:
        print_log(f'{checkpoint} was trained on the characters {trained!r}; the config\'s '
                  f'dictionary holds {chars!r}. If the decoders changed alike, each output '
                  'index now reads as another character: use the dictionary it was trained '
                  'with.', logger='current', level=logging.WARNING)


def dataset_dictionary(dataset_cfg: Optional[dict]):
    """The ``Dictionary`` a dataset config builds (the plate one by default),
    in DLD's scope unless a scope is current."""
    dictionary = (dataset_cfg or {}).get('dictionary') or dict(type='Dictionary')
    if not isinstance(dictionary, dict):
        return dictionary
    from dld.registry import TASK_UTILS
    scope = None if DefaultScope.get_current_instance() is not None else 'dld'
    with DefaultScope.overwrite_default_scope(scope):
        return TASK_UTILS.build(dictionary)


def leaf_dataset(dataset) -> Optional[dict]:
    """The first set inside MMEngine's wrappers (``datasets=[...]`` of a
    ``ConcatDataset``, ``dataset=`` of a ``RepeatDataset``), as its config."""
    while isinstance(dataset, dict):
        inner = dataset.get('datasets') or dataset.get('dataset')
        if isinstance(inner, (list, tuple)):
            inner = inner[0] if inner else None
        if not isinstance(inner, dict):
            return dataset
        dataset = inner
    return None


def set_configs(dataset) -> List[dict]:
    """The configs of every set a dataset config reads, through MMEngine's
    wrappers (``datasets=[...]`` of a ``ConcatDataset`` in order, ``dataset=``
    of a repeat), as they are (to read or change in place)."""
    if not isinstance(dataset, dict):
        return []
    inner = dataset.get('datasets') or dataset.get('dataset')
    if isinstance(inner, dict):
        return set_configs(inner)
    if isinstance(inner, (list, tuple)):
        return [leaf for part in inner for leaf in set_configs(part)]
    return [dataset]


def with_hr_frames(dl_cfg: dict) -> dict:
    """A loader config changed to also load and pack the HR frames, in every
    set of a concatenation too (flops_accuracy's "Teacher on HR" row was
    left out of a concatenation), for a teacher that reads HR."""
    for ds in set_configs(dl_cfg['dataset']):
        if 'pipeline' not in ds:
            raise ValueError(f"dataset type {ds.get('type')} has no pipeline to add HR to")
        ds['load_hr'] = True
        for step in ds['pipeline']:
            if type_name(step.get('type')) == 'LoadPlateImages':  # or the class itself
                step['with_hr'] = True
    return dl_cfg


def dataset_sources(dataset) -> List[dict]:
    """``{type, data_root, ann_file}`` of every set a dataset config reads
    (:func:`set_configs`): what a report names as its test set (a
    concatenation's was null)."""
    return [dict(type=kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind)),
                 data_root=ds.get('data_root'), ann_file=ds.get('ann_file'))
            for ds in set_configs(dataset) for kind in (ds.get('type'), )]
