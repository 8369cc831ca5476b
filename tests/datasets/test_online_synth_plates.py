"""OnlineSynthPlateDataset renders new, reproducible plates; EpochOffsetSampler
makes every epoch read another range of them."""
import os.path as osp

import numpy as np
import pytest
from mmengine.dataset import pseudo_collate

from dld.datasets import EpochOffsetSampler, OnlineSynthPlateDataset
from dld.datasets.synth import generate_synth_plates
from dld.registry import DATASETS, MODELS

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
PACK = [dict(type='ResizePair', lr_size=(48, 144), hr_size=(48, 144)),
        dict(type='PackPlateInputs', main_stream='lr')]


def make(**kwargs):
    return OnlineSynthPlateDataset(**dict(dict(num_plates=6), **kwargs))


def test_a_plate_is_the_same_every_time_it_is_read_and_others_differ():
    a, b = make(), make()
    first, again = a.render(3), b.render(3)
    assert first['gt_text'] == again['gt_text']
    np.testing.assert_array_equal(first['img_hr'], again['img_hr'])
    np.testing.assert_array_equal(first['img'], again['img'])
    labels = {a.render(i)['gt_text'] for i in range(40)}
    assert len(labels) == 40
    assert a.render(3)['gt_text'] != make(seed=1).render(3)['gt_text']


def test_a_track_prefix_is_taken_as_the_sets_on_disk_take_it():
    """It was a TypeError from MMEngine's BaseDataset."""
    assert make(track_prefix='syn/').render(3)['track_id'] == 'syn/online/3'
    with pytest.raises(TypeError, match='track_prefix must be a string'):
        make(track_prefix=1)


def test_items_past_the_epoch_length_are_new_plates_too():
    ds = make()
    assert len(ds) == 6
    far = ds.render(6 * 1000 + 3)
    assert far['gt_text'] != ds.render(3)['gt_text']
    assert far['sample_idx'] == 6003 and far['track_id'] == 'online/6003'


def test_without_lr_the_label_and_hr_frame_are_unchanged():
    with_lr, hr_only = make().render(2), make(with_lr=False).render(2)
    assert hr_only['gt_text'] == with_lr['gt_text']
    np.testing.assert_array_equal(hr_only['img_hr'], with_lr['img_hr'])
    assert 'img' not in hr_only
    # the LR frame is the degraded, smaller one
    assert with_lr['img'].shape[1] < with_lr['img_hr'].shape[1]


def test_without_hr_the_lr_frame_is_unchanged_and_nothing_hr_is_packed():
    both, lr_only = make().render(2), make(with_hr=False).render(2)
    assert lr_only['gt_text'] == both['gt_text']
    np.testing.assert_array_equal(lr_only['img'], both['img'])
    assert not any(key.startswith('hr_') or key == 'img_hr' for key in lr_only)
    packed = make(with_hr=False, pipeline=PACK)[2]
    assert 'inputs_hr' not in packed and packed['inputs'].shape[1:] == (48, 144)
    with pytest.raises(ValueError, match='with_lr or with_hr'):
        make(with_lr=False, with_hr=False)


def test_plates_of_the_excluded_label_files_are_never_rendered(tmp_path):
    plain = make()
    taken = [plain.render(i)['gt_text'] for i in (0, 4)]
    ann = tmp_path / 'test.txt'
    ann.write_text('# held out\n' + ''.join(f'x/lr.png|x/hr.png\t{t}\n' for t in taken))
    ds = make(exclude_ann_files=[str(ann)])
    assert ds.excluded == set(taken)
    assert ds.render(0)['gt_text'] not in taken and ds.render(4)['gt_text'] not in taken
    assert ds.render(1)['gt_text'] == plain.render(1)['gt_text']  # the rest as they were


def test_a_missing_excluded_label_file_is_an_error_that_names_it(tmp_path):
    missing = str(tmp_path / 'val.txt')
    with pytest.raises(FileNotFoundError, match='val.txt'):
        make(exclude_ann_files=[missing])


def test_a_track_list_or_a_folder_of_track_folders_excludes_their_plates(tmp_path):
    """An ICPR track list was taken and excluded no plate, without a word:
    its tracks' plates are excluded (the split alone), a list of no track
    folder is refused, and a folder excludes every track below it."""
    import json

    from dld.datasets import DataSourceError
    taken = [make().render(i)['gt_text'] for i in (0, 4)]
    for i, text in enumerate(taken):
        (tmp_path / 'val' / f'track_{i}').mkdir(parents=True)
        (tmp_path / 'val' / f'track_{i}' / 'annotations.json').write_text(
            json.dumps(dict(plate_text=text)))
    (tmp_path / 'splits').mkdir()
    (tmp_path / 'splits' / 'val.txt').write_text('val/track_1\n')  # below data_root
    assert make(exclude_ann_files=[str(tmp_path / 'splits' / 'val.txt')]).excluded == {
        taken[1]}
    (tmp_path / 'splits' / 'bad.txt').write_text('val/track_7\n')
    with pytest.raises(DataSourceError, match="holds no label .*no track folders .*'val/track_7'"):
        make(exclude_ann_files=[str(tmp_path / 'splits' / 'bad.txt')])
    assert make(exclude_ann_files=[str(tmp_path / 'val')]).excluded == set(taken)
    # a scenario linked in from elsewhere is excluded too, as the sets read it
    import os
    (tmp_path / 'elsewhere' / 'track_9').mkdir(parents=True)
    linked = make().render(7)['gt_text']
    (tmp_path / 'elsewhere' / 'track_9' / 'annotations.json').write_text(
        json.dumps(dict(plate_text=linked)))
    os.symlink(tmp_path / 'elsewhere', tmp_path / 'val' / 'linked')
    assert linked in make(exclude_ann_files=[str(tmp_path / 'val')]).excluded
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataSourceError, match='no annotations.json'):
        make(exclude_ann_files=[str(tmp_path / 'empty')])


def test_evaluation_on_online_plates_is_refused():
    with pytest.raises(ValueError, match='PairedPlateDataset'):
        make(test_mode=True)


@pytest.mark.parametrize('chars', ['0123456789', '0123456789ABCDEFGHIJKLMNOPQRSTUVWXY'])
def test_layouts_outside_the_dictionary_fail_when_built(chars):
    """Even a letter that no plate of the first epoch may hold (Z)."""
    with pytest.raises(ValueError, match="outside the dictionary"):
        make(dictionary=dict(type='Dictionary', chars=chars))
    make(layouts=('NNN-NNNN', ), dictionary=dict(type='Dictionary', chars='0123456789'))


def test_items_feed_the_preprocessor_with_both_streams():
    ds = make(pipeline=PACK)
    batch = pseudo_collate([ds[0], ds[7]])
    out = MODELS.build(dict(type='PlateDataPreprocessor', mean=(127.5,) * 3,
                            std=(127.5,) * 3, bgr_to_rgb=True))(batch)
    assert out['inputs'].shape == out['inputs_hr'].shape == (2, 3, 48, 144)
    assert [s.gt_text for s in out['data_samples']] == [ds.render(i)['gt_text'] for i in (0, 7)]


AUGMENT = [dict(type='PlateRandomAffine', prob=1.0),
           dict(type='PlatePhotometricDistort', prob=1.0)]


def test_an_item_is_augmented_alike_whatever_the_global_generators_hold(
        read_alike_from_any_global_state):
    """As in a resumed run, or another dataloader worker: the generators'
    state before the read differs, the item does not, and the state is
    given back."""
    first = read_alike_from_any_global_state(make(pipeline=AUGMENT), 4)
    rendered = make(pipeline=AUGMENT).render(4)
    assert not np.array_equal(first['img_hr'], rendered['img_hr'])  # it was augmented


def test_the_runs_seed_changes_the_augmentation_not_the_plate():
    runs = []
    for seed in (1, 1, 2):
        ds = make(pipeline=AUGMENT)
        ds.set_pipeline_seed(seed)
        runs.append(ds[4])
    assert runs[0]['gt_text'] == runs[2]['gt_text']
    np.testing.assert_array_equal(runs[0]['img_hr'], runs[1]['img_hr'])
    assert not np.array_equal(runs[0]['img_hr'], runs[2]['img_hr'])


def test_without_seed_pipeline_the_draws_come_from_the_global_generators():
    ds = make(pipeline=AUGMENT, seed_pipeline=False)
    np.random.seed(1)
    first = ds[4]
    np.random.seed(2)
    assert not np.array_equal(first['img_hr'], ds[4]['img_hr'])
    np.random.seed(1)
    np.testing.assert_array_equal(first['img_hr'], ds[4]['img_hr'])


def test_sampler_reads_a_new_range_each_epoch_and_the_same_one_on_resume():
    ds = make(num_plates=5)
    sampler = EpochOffsetSampler(ds, shuffle=True, seed=3)
    first = list(sampler)
    assert sorted(first) == [0, 1, 2, 3, 4] and len(sampler) == 5
    sampler.set_epoch(2)
    third = list(sampler)
    assert sorted(third) == [10, 11, 12, 13, 14]
    resumed = EpochOffsetSampler(ds, shuffle=True, seed=3)
    resumed.set_epoch(2)
    assert list(resumed) == third


def test_sampler_ranks_split_an_epoch_between_them(monkeypatch):
    import mmengine.dataset.sampler as mm_sampler
    ds = make(num_plates=6)
    seen = []
    for rank in (0, 1):
        monkeypatch.setattr(mm_sampler, 'get_dist_info', lambda r=rank: (r, 2))
        sampler = EpochOffsetSampler(ds, shuffle=True, seed=0)
        sampler.set_epoch(1)
        seen.append(list(sampler))
    assert len(seen[0]) == len(seen[1]) == 3
    assert sorted(seen[0] + seen[1]) == list(range(6, 12))


def test_the_online_config_trains_on_new_plates_each_epoch(tmp_path):
    """configs/dld_plate_hr_online.py: the student stage's pipeline minus the
    loader, HR only, validation plates excluded, a new range each epoch."""
    from mmengine.runner import Runner

    from dld.apis.model_loading import load_config
    cfg = load_config(osp.join(CONFIGS, 'dld_plate_hr_online.py'))
    stage = load_config(osp.join(CONFIGS, 'dld_plate_hr.py'))
    assert cfg.train_dataloader.dataset.pipeline == stage.train_dataloader.dataset.pipeline[1:]
    assert cfg.val_dataloader == stage.val_dataloader
    root = str(tmp_path / 'plates')
    generate_synth_plates(root, tracks=1, val_tracks=2, test_tracks=2, frames=1,
                          progress=False)
    loader_cfg = cfg.train_dataloader
    loader_cfg.update(batch_size=4, num_workers=0, persistent_workers=False)
    loader_cfg.dataset.update(num_plates=4, exclude_ann_files=[
        osp.join(root, 'val.txt'), osp.join(root, 'test.txt')])
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    assert isinstance(loader.dataset, DATASETS.get('OnlineSynthPlateDataset'))
    assert len(loader.dataset.excluded) == 4
    epochs = []
    for epoch in (0, 1):
        loader.sampler.set_epoch(epoch)
        batch = next(iter(loader))
        assert batch['inputs'][0].shape == batch['inputs_hr'][0].shape  # the student reads HR
        epochs.append({s.gt_text for s in batch['data_samples']})
    assert len(epochs[0]) == 4 and not epochs[0] & epochs[1]


@pytest.mark.parametrize('online, stage, reads_hr', [
    ('dld_plate_student_online.py', 'dld_plate_student.py', True),
    ('student_plate_lr_online.py', 'student_plate_lr.py', False)])
def test_the_lr_online_configs_keep_their_stage_but_its_plates(online, stage, reads_hr):
    """The LR setting's online cycles: the stage's pipeline minus the loader, LR
    degraded from HR, the HR frame batched only where a teacher reads it."""
    from mmengine.runner import Runner

    from dld.apis.model_loading import load_config
    cfg = load_config(osp.join(CONFIGS, online))
    base = load_config(osp.join(CONFIGS, stage))
    assert cfg.train_dataloader.dataset.pipeline == base.train_dataloader.dataset.pipeline[1:]
    assert cfg.model == base.model and cfg.val_dataloader == base.val_dataloader
    assert cfg.train_dataloader.sampler.type == 'EpochOffsetSampler'
    loader_cfg = cfg.train_dataloader
    loader_cfg.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader_cfg.dataset.update(num_plates=2, exclude_ann_files=[])
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    assert batch['inputs'][0].shape == (3, 48, 144)
    assert ('inputs_hr' in batch) == reads_hr


def test_excluded_label_files_may_start_with_a_byte_order_mark(tmp_path):
    ann = tmp_path / 'val.txt'
    # The BOM would hide the '#' and turn the comment into a label.
    ann.write_bytes(b'\xef\xbb\xbf# lr|hr\tNOTALABEL\nx/lr.png|x/hr.png\tABC1234\n')
    assert make(exclude_ann_files=[str(ann)]).excluded == {'ABC1234'}


def test_an_excluded_label_line_that_is_not_utf8_is_an_error_naming_it(tmp_path):
    ann = tmp_path / 'val.txt'
    ann.write_bytes(b'x/lr.png|x/hr.png\tABC1234\nx/lr.png|x/hr.png\tAB\xc71234\n')
    with pytest.raises(ValueError, match=r'val.txt:2: not valid UTF-8'):
        make(exclude_ann_files=[str(ann)])


def test_one_excluded_label_file_may_be_given_as_a_string(tmp_path):
    taken = make().render(0)['gt_text']
    ann = tmp_path / 'val.txt'
    ann.write_text(f'x/lr.png|x/hr.png\t{taken}\n')
    ds = make(exclude_ann_files=str(ann))
    assert ds.excluded == {taken} and ds.render(0)['gt_text'] != taken


def test_a_negative_index_is_an_index_error():
    with pytest.raises(IndexError, match='>= 0, got -1'):
        make(pipeline=PACK)[-1]


@pytest.mark.parametrize('load', ['LoadPlateImages', 'dld.LoadPlateImages'])
def test_a_pipeline_that_loads_image_files_is_refused_when_the_set_is_built(load):
    """The whole train_pipeline given, not [1:]: it failed at the first step,
    with a KeyError on lr_path and no word of the fix."""
    with pytest.raises(ValueError, match=rf'leave {load} out of its pipeline \(e\.g\. '
                                         r'train_pipeline\[1:\]'):
        make(pipeline=[dict(type=load, with_hr=True)] + PACK)
