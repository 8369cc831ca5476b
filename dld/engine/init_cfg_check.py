"""A model's ``init_cfg`` settings, checked where a run starts.

Why: MMEngine reads them at the first ``init_weights``, once training
starts and the runner has logged its set-up (some 750 to 950 lines): a
Pretrained file that is not there, or a misspelt initializer type, failed there with a
traceback; a layer name that matches no layer (``layer='Conv'`` for
``Conv2d``) initialised nothing, without a word.
"""
import logging
import os.path as osp
from typing import Any, Iterator, List, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from dld.engine.checkpoint import CheckpointURLError, refuse_url
from dld.engine.runner_settings import ConfigSettingError
from dld.utils.close_names import did_you_mean
from dld.utils.shown_paths import where


def init_cfgs(part: Any, path: str = 'model') -> Iterator[Tuple[str, dict]]:
    """``(setting, init)`` of each initializer a config part names under an
    ``init_cfg`` (one dict or a list of them; an ``override`` inside one
    too): ``('model.student.backbone.init_cfg[1]', {...})``."""
    if isinstance(part, dict):
        for key, value in part.items():
            if key == 'init_cfg':
                items = value if isinstance(value, (list, tuple)) else [value]
                for i, init in enumerate(items):
                    if not isinstance(init, dict):
                        continue
                    name = f'{path}.init_cfg' + (f'[{i}]' if len(items) > 1 else '')
                    yield name, init
                    overrides = init.get('override')
                    overrides = overrides if isinstance(overrides, (list, tuple)) else [overrides]
                    for override in overrides:
                        if isinstance(override, dict) and 'type' in override:
                            yield f'{name}.override', override
            else:
                yield from init_cfgs(value, f'{path}.{key}')
    elif isinstance(part, (list, tuple)):
        for i, value in enumerate(part):
            yield from init_cfgs(value, f'{path}[{i}]')


def read_init_cfgs(cfg) -> Iterator[Tuple[str, dict]]:
    """:func:`init_cfgs` of the model but a DLD model's teacher loaded from
    ``teacher_ckpt``, whose init_cfg MMEngine never reads (its weights are
    the checkpoint's: docs/method.md); it kept its first training's
    ``Pretrained`` file, which need not be on this machine."""
    model = cfg.get('model')
    loaded = isinstance(model, dict) and isinstance(model.get('teacher_ckpt'), str)
    for setting, init in init_cfgs(model):
        if not (loaded and setting.startswith('model.teacher.')):
            yield setting, init


def check_init_cfgs(cfg) -> None:
    """Refuse an ``init_cfg`` of an unknown type (with the close names) or
    whose Pretrained checkpoint is not there (a URL too: nothing is
    downloaded): :class:`ConfigSettingError` naming the setting."""
    from dld.registry import WEIGHT_INITIALIZERS
    for setting, init in read_init_cfgs(cfg):
        kind = init.get('type')
        if not isinstance(kind, str):
            continue  # a class given itself, or an override without its own type
        if WEIGHT_INITIALIZERS.get(kind) is None:
            known = list(WEIGHT_INITIALIZERS.module_dict)
            if WEIGHT_INITIALIZERS.parent is not None:
                known += list(WEIGHT_INITIALIZERS.parent.module_dict)
            close = did_you_mean(kind, known, quoted=True)
            raise ConfigSettingError(f'{setting}: no weight initializer {kind!r}'
                             + (f'; {close}' if close else
                                f'; the known ones are {sorted(set(known))}'))
        checkpoint = init.get('checkpoint')
        if kind == 'Pretrained' and isinstance(checkpoint, str):
            try:
                refuse_url(checkpoint)
            except CheckpointURLError as err:  # nothing is downloaded
                raise ConfigSettingError(f'{setting}: {err}') from None
            if not osp.isfile(osp.expanduser(checkpoint)):  # '~' as the loaders read it
                raise ConfigSettingError(f'{setting}: its Pretrained checkpoint is not there: '
                                         f'{where(checkpoint)}')


def _layer_names(module: nn.Module) -> set:
    """The names an initializer's ``layer`` matches in ``module``: each
    layer's class and its bases' (as MMEngine matches them)."""
    names = set()
    for m in module.modules():
        names.add(type(m).__name__)
        names.update(b.__name__ for b in type(m).__bases__)
    return names


def warn_unmatched_init_layers(model: nn.Module, cfg) -> List[str]:
    """Warn of an ``init_cfg`` ``layer`` name that no layer of its part
    matches (it initialises nothing); the warnings, also returned. A part
    whose setting path is not the model's attribute path is passed over."""
    said = []
    for setting, init in read_init_cfgs(cfg):
        layers = init.get('layer')
        if not layers or setting.endswith('.override'):
            continue
        part = _part_of(model, setting)
        if part is None:
            continue
        names = _layer_names(part)
        for layer in [layers] if isinstance(layers, str) else layers:
            if layer not in names:
                close = did_you_mean(layer, {type(m).__name__ for m in part.modules()},
                                     quoted=True)
                said.append(f'{setting}: layer {layer!r} matches no layer of that part, so '
                            f"the {init.get('type')} initializer sets nothing there"
                            + (f'; {close}' if close else ''))
    for line in said:
        print_log(line, logger='current', level=logging.WARNING)
    return said


def _part_of(model: nn.Module, setting: str):
    """The module a setting such as ``model.student.backbone.init_cfg[0]``
    belongs to, or None."""
    part = model.module if is_model_wrapper(model) else model
    for name in setting.split('.init_cfg')[0].split('.')[1:]:
        if '[' in name or not isinstance(getattr(part, name, None), nn.Module):
            return None
        part = getattr(part, name)
    return part
