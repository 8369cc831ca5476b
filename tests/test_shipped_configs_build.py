"""Every shipped config builds its parts: the model, each dataloader's set,
the evaluators and the custom hooks. A check added to a constructor (a
yes/no setting written as a string, a scale of another's input size)
refuses what a config sets when the config is launched; this finds it here,
without data on disk and without a trained teacher."""
import copy
import glob
import os
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from dld.registry import DATASETS, HOOKS, METRICS, MODELS
from dld.utils.config_file import read_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, REPO) for p in
    glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    + glob.glob(osp.join(REPO, 'projects', '*', 'configs', '*.py'))
    if f'{os.sep}_base_{os.sep}' not in p)


def _build_set(cfg: dict):
    """The set as configured, its annotations not read (no data here):
    ``lazy_init`` where the set takes it, which still runs its checks."""
    try:
        return DATASETS.build(dict(cfg, lazy_init=True))
    except TypeError as err:
        if 'lazy_init' not in str(err):
            raise
    return DATASETS.build(cfg)


def _metrics(evaluator) -> list:
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    return list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]


def test_every_shipped_config_is_found():
    assert 'configs/dld_plate.py' in CONFIGS and len(CONFIGS) >= 20
    assert any(c.startswith('projects/') for c in CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_a_shipped_config_builds_its_parts(config, monkeypatch):
    monkeypatch.chdir(REPO)  # custom_imports name projects by their import path
    cfg = read_config(config)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'dld')):
        model = copy.deepcopy(cfg.model.to_dict())
        if 'teacher_ckpt' in model:
            model['teacher_ckpt'] = None  # no trained teacher here: its layers are built
        assert MODELS.build(model) is not None
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(key):
                _build_set(copy.deepcopy(cfg[key]['dataset'].to_dict()))
        for key in ('val_evaluator', 'test_evaluator'):
            for metric in _metrics(copy.deepcopy(cfg.get(key) or [])):
                METRICS.build(metric)
        for hook in cfg.get('custom_hooks') or []:
            HOOKS.build(copy.deepcopy(hook))
