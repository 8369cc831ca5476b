"""configs/_base_/datasets/synth_plates.py builds and feeds the preprocessor."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from dld.datasets.synth import generate_synth_plates
from dld.registry import DATASETS, MODELS

CFG = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
               'synth_plates.py')


@pytest.fixture(scope='module')
def cfg_and_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synth'))
    generate_synth_plates(root, tracks=2, val_tracks=1, test_tracks=1, frames=2, seed=0,
                          progress=False)
    return Config.fromfile(CFG), root


@pytest.mark.parametrize('loader,has_hr', [('train_dataloader', True),
                                           ('val_dataloader', False),
                                           ('test_dataloader', False),
                                           ('hr_train_dataloader', False),
                                           ('hr_val_dataloader', False)])
def test_each_loader_config_yields_model_inputs(cfg_and_root, loader, has_hr):
    cfg, root = cfg_and_root
    ds_cfg = cfg[loader].dataset.copy()
    ds_cfg.data_root = root
    ds = DATASETS.build(ds_cfg)
    assert ds.metainfo['chars'] == '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    out = MODELS.build(cfg.plate_data_preprocessor)(pseudo_collate([ds[0], ds[1]]))
    assert out['inputs'].shape == (2, 3, 48, 144)
    assert ('inputs_hr' in out) is has_hr


def test_config_declares_what_the_tools_need(cfg_and_root):
    cfg, _ = cfg_and_root
    assert cfg.synth_plates.data_root.rstrip('/') == 'data/synth_plates'
    assert {m['type'] for m in cfg.val_evaluator} == {'PlateRecogMetric', 'TrackAccuracyMetric'}
    assert cfg.train_dataloader.num_workers == 2
    assert cfg.val_dataloader.dataset.frames == 'all'
