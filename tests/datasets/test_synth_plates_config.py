"""configs/_base_/datasets/synth_plates.py builds and feeds the preprocessor."""
import copy
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


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_a_loader_stacks_each_image_stream_as_the_preprocessor_reads_it(cfg_and_root, loader):
    """plate_collate: one tensor a stream (one shared-memory block from a
    worker, not one per image), read by the preprocessor as the lists were."""
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    init_default_scope('dld')
    cfg, root = cfg_and_root
    loader_cfg = copy.deepcopy(cfg[loader])
    loader_cfg.dataset.data_root = root
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=2)
    loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    batch = next(iter(Runner.build_dataloader(loader_cfg.to_dict())))
    streams = [k for k in ('inputs', 'inputs_hr') if k in batch]
    assert streams == (['inputs', 'inputs_hr'] if loader == 'train_dataloader' else ['inputs'])
    for key in streams:
        assert isinstance(batch[key], torch.Tensor) and batch[key].dtype == torch.uint8
        assert batch[key].shape[0] == 2
    preprocessor = MODELS.build(cfg.plate_data_preprocessor)
    as_lists = {k: (list(v) if k in streams else v) for k, v in batch.items()}
    for key in streams:
        assert torch.equal(preprocessor(batch)[key], preprocessor(as_lists)[key])


def test_images_of_unlike_sizes_stay_a_list_for_the_preprocessor_to_pad():
    import torch

    from dld.datasets import plate_collate
    items = [dict(inputs=torch.zeros(3, 32, w, dtype=torch.uint8), data_samples=None)
             for w in (96, 100)]
    assert isinstance(plate_collate(items)['inputs'], list)
    assert isinstance(plate_collate(items[:1] * 2)['inputs'], torch.Tensor)


def test_config_declares_what_the_tools_need(cfg_and_root):
    cfg, _ = cfg_and_root
    assert cfg.synth_plates.data_root.rstrip('/') == 'data/synth_plates'
    assert {m['type'] for m in cfg.val_evaluator} == {'PlateRecogMetric', 'TrackAccuracyMetric',
                                                    'ReadingCostMetric'}
    assert cfg.train_dataloader.num_workers == 2
    assert cfg.val_dataloader.dataset.frames == 'all'


# the last student cycles read one new set, the selector stages another
@pytest.mark.parametrize('name,seed', [('dld_plate_hr_fresh', 1),
                                       ('dld_plate_student_fresh', 1),
                                       ('student_plate_lr_fresh', 1),
                                       ('dld_plate_hr_selector_fresh', 2),
                                       ('dld_plate_selector_fresh', 2)])
def test_a_fresh_training_set_is_rendered_and_read_by_the_training_split(tmp_path, name,
                                                                         seed):
    """The training split reads its own new plates, rendered on first use;
    validation and test stay on the standard set."""
    from dld.apis.model_loading import load_config
    from dld.engine.launch import ensure_config_data
    fresh_cfg = osp.join(osp.dirname(CFG), '..', '..', f'{name}.py')
    cfg = load_config(fresh_cfg)
    assert cfg.synth_plates.seed == 0 and cfg.train_synth_plates.seed == seed
    assert cfg.train_dataloader.dataset.pipeline == \
        load_config(fresh_cfg.replace('_fresh', '')).train_dataloader.dataset.pipeline
    assert cfg.train_dataloader.dataset.data_root == cfg.train_synth_plates.data_root
    assert cfg.test_dataloader.dataset.data_root == cfg.synth_plates.data_root
    small = dict(tracks=2, val_tracks=1, test_tracks=1, frames=1)
    cfg.synth_plates.update(small, data_root=str(tmp_path / 'base'))
    cfg.train_synth_plates.update(small, data_root=str(tmp_path / 'fresh'))
    # The dataloaders move with the sets: a set that none of them reads is not made.
    cfg.train_dataloader.dataset.data_root = cfg.train_synth_plates.data_root
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = cfg.synth_plates.data_root
    ensure_config_data(cfg)
    base = (tmp_path / 'base' / 'train.txt').read_text()
    fresh = (tmp_path / 'fresh' / 'train.txt').read_text()
    assert len(fresh.splitlines()) == 2 and fresh != base  # other plates, not a copy


@pytest.mark.parametrize('pipeline', ['hr_as_student_train_pipeline',
                                      'hr_as_student_test_pipeline'])
def test_the_student_reads_the_teachers_pixels_whatever_the_crops_aspect(
        cfg_and_root, tmp_path, pipeline):
    """The efficiency setting: the student's copy of the HR crop is resized
    as the teacher's is, also for a crop narrower than 3:1 (60x160 here)."""
    import numpy as np
    import torch
    from mmengine.dataset import Compose

    from dld.registry import TRANSFORMS
    cfg, _ = cfg_and_root
    steps = [t for t in cfg[pipeline]
             if t['type'] not in ('LoadPlateImages', 'PlateRandomAffine',
                                  'PlatePhotometricDistort')]
    img = np.random.default_rng(0).integers(0, 255, (60, 160, 3), dtype=np.uint8)
    out = Compose([TRANSFORMS.build(t) for t in steps])(dict(img_hr=img, gt_text='ABC1234'))
    assert out['inputs'].shape == out['inputs_hr'].shape == (3, 48, 144)
    assert torch.equal(out['inputs'], out['inputs_hr'])
    assert out['data_samples'].valid_ratio == 1.0


def test_the_data_preprocessor_offered_to_model_configs_is_the_shipped_models_own():
    """It swapped the channels (bgr_to_rgb=True) of every shipped model, which
    reads BGR: a DLD config built with it fed a BGR-trained teacher RGB (a
    data audit)."""
    from dld.registry import MODELS
    offered = MODELS.build(Config.fromfile(CFG).plate_data_preprocessor)
    for config in ('configs/teacher_plate_hr.py', 'configs/dld_plate.py'):
        shipped = MODELS.build(Config.fromfile(config).model.data_preprocessor)
        assert offered.bgr_to_rgb == shipped.bgr_to_rgb
        assert offered.mean.tolist() == shipped.mean.tolist()
        assert offered.std.tolist() == shipped.std.tolist()
