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


def check_runner_settings(cfg) -> None:
    """Raise a ``ValueError`` naming each key of those settings that MMEngine
    would ignore or hand on to be refused, with the close names."""
    problems = []
    for path, known in _known_keys().items():
        section = _get(cfg, path)
        if isinstance(section, Mapping):
            problems += [_problem(path, key, known) for key in section if key not in known]
    if problems:
        raise ConfigSettingError('; '.join(problems))


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
