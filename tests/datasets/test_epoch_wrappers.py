"""DLD's ConcatDataset and RepeatDataset pass the epoch on to the sets they
hold: new augmentations and new online plates every epoch, and copies of an
item that are not the same image."""
from unittest import mock

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from dld.datasets import (
    ClassBalancedDataset,
    ConcatDataset,
    EpochOffsetSampler,
    OnlineSynthPlateDataset,
    PairedPlateDataset,
    RepeatDataset,
)
from dld.registry import DATASETS

AUGMENT = [dict(type='LoadPlateImages'),
           dict(type='PlatePhotometricDistort', prob=1.0, keys=('img', 'img_hr'))]


def _seeded(root, **kw):
    return PairedPlateDataset(data_root=str(root), ann_file='train.txt', frames='all',
                              seed_pipeline=True, pipeline=AUGMENT, **kw)


def _epoch(dataset, epoch):
    sampler = EpochOffsetSampler(dataset, shuffle=False)
    sampler.set_epoch(epoch)
    return [dataset[i] for i in sampler]


def test_the_configs_wrappers_are_dlds():
    init_default_scope('dld')
    with DATASETS.switch_scope_and_registry('dld') as registry:
        assert registry.get('ConcatDataset') is ConcatDataset
        assert registry.get('RepeatDataset') is RepeatDataset
        assert registry.get('ClassBalancedDataset') is ClassBalancedDataset


def test_a_concatenation_draws_new_augmentations_each_epoch_and_resumes_alike(paired_root):
    """Through MMEngine's, every epoch read indices 0..len-1: the same
    augmentations each epoch."""
    both = ConcatDataset([_seeded(paired_root), _seeded(paired_root, track_prefix='b/')])
    with mock.patch('dld.datasets.samplers.epoch_offset_sampler.print_log') as log:
        first, second, again = _epoch(both, 0), _epoch(both, 1), _epoch(both, 1)
    assert not log.called  # it reads past its end: no warning
    assert [s['track_id'] for s in first] == [s['track_id'] for s in second]
    assert len(first) == 12 and first[6]['track_id'] == 'b/t0'
    assert all(not np.array_equal(a['img_hr'], b['img_hr']) for a, b in zip(first, second))
    assert all(np.array_equal(a['img_hr'], b['img_hr']) for a, b in zip(second, again))
    # epoch 0 is what MMEngine's read
    assert np.array_equal(first[7]['img_hr'], both.datasets[1][1]['img_hr'])


def test_the_copies_of_a_repeat_are_not_the_same_image(paired_root):
    """RepeatDataset(times=3) over a seeded set gave three pixel-identical
    copies of each item (one index, one seed)."""
    repeated = RepeatDataset(_seeded(paired_root), times=3)
    items = _epoch(repeated, 0)
    assert len(items) == 18
    copies = [items[i]['img_hr'] for i in (0, 6, 12)]  # one item, three copies
    assert not np.array_equal(copies[0], copies[1]) and not np.array_equal(copies[1], copies[2])
    later = _epoch(repeated, 1)
    assert not any(np.array_equal(later[0]['img_hr'], c) for c in copies)


def test_an_online_set_in_a_concatenation_renders_new_plates_each_epoch(paired_root):
    online = OnlineSynthPlateDataset(num_plates=4)
    mixed = ConcatDataset([_seeded(paired_root), online])
    texts = [[s['gt_text'] for s in _epoch(mixed, e)[6:]] for e in (0, 1)]
    assert len(texts[0]) == 4 and not set(texts[0]) & set(texts[1])


def test_a_set_that_reads_no_index_past_its_end_is_read_as_mmengine_does(paired_root):
    from mmengine.dataset import BaseDataset

    class Plain(BaseDataset):
        def load_data_list(self):
            return [dict(n=i) for i in range(3)]
    repeated = RepeatDataset(Plain(), times=2)
    assert [repeated[i]['n'] for i in range(8)] == [0, 1, 2, 0, 1, 2, 0, 1]


def test_parts_of_other_meta_information_name_the_keys(paired_root):
    plates = _seeded(paired_root)
    other = _seeded(paired_root, dictionary=dict(type='Dictionary', chars='0123456789ABCXYZ'))
    with pytest.raises(ValueError, match=r"ConcatDataset: part 2 \(PairedPlateDataset\) differs "
                                         r"from part 1 in its meta information 'chars' .*"
                                         r"ignore_keys=\['chars'\]"):
        ConcatDataset([plates, other])


def test_class_balancing_repeats_the_tracks_of_rare_characters(tmp_path):
    """ClassBalancedDataset failed with NotImplementedError (get_cat_ids), and
    once built, MMEngine's gave every copy of an item the same image."""
    from plate_files import write_png
    lines = []
    for t, text in enumerate(['ABC1234'] * 4 + ['QQQ1234']):
        write_png(str(tmp_path / f't{t}.png'), 20, 60)
        lines.append(f't{t}.png\t{text}')
    (tmp_path / 'train.txt').write_text('\n'.join(lines) + '\n')
    plates = PairedPlateDataset(data_root=str(tmp_path), ann_file='train.txt', pipeline=[],
                                load_hr=False)
    assert plates.get_cat_ids(4) == sorted(plates.dictionary.str2idx('Q1234'))
    balanced = ClassBalancedDataset(plates, oversample_thr=0.5)
    counts = [sum(balanced[i]['lr_path'] == plates[k]['lr_path'] for i in range(len(balanced)))
              for k in range(5)]
    assert counts[4] > max(counts[:4])  # the one 'Q' track is read most often
    # its copies, seeded, are images of their own, and so is the next epoch's
    seeded = ClassBalancedDataset(PairedPlateDataset(
        data_root=str(tmp_path), ann_file='train.txt', load_hr=False, seed_pipeline=True,
        pipeline=[dict(type='LoadPlateImages', with_hr=False),
                  dict(type='PlatePhotometricDistort', prob=1.0, keys=('img', ))]),
        oversample_thr=0.5)
    copies = [i for i in range(len(seeded)) if seeded.repeat_indices[i] == 4]
    first, second = (seeded[i]['img'] for i in copies)
    assert not np.array_equal(first, second)
    assert not np.array_equal(seeded[copies[0] + len(seeded)]['img'], first)


def test_class_balancing_a_mix_of_sets_reads_each_part_s_categories(tmp_path):
    """ClassBalancedDataset around a ConcatDataset (or a RepeatDataset) of
    plate sets failed with AttributeError: no get_cat_ids; around a mix
    holding a set without categories (the online plates) it names that set."""
    from plate_files import write_png
    init_default_scope('dld')
    sets = []
    for name, texts in (('a', ['ABC1234'] * 4), ('b', ['QQQ1234'])):
        (tmp_path / name).mkdir()
        for t in range(len(texts)):
            write_png(str(tmp_path / name / f't{t}.png'), 20, 60)
        (tmp_path / name / 'train.txt').write_text(
            ''.join(f't{t}.png\t{text}\n' for t, text in enumerate(texts)))
        sets.append(dict(type='PairedPlateDataset', data_root=str(tmp_path / name),
                         ann_file='train.txt', pipeline=[], load_hr=False))
    q = sorted(DATASETS.build(sets[1]).dictionary.str2idx('Q1234'))
    mix = dict(type='ConcatDataset',
               datasets=[sets[0], dict(type='RepeatDataset', times=2, dataset=sets[1])])
    assert DATASETS.build(mix).get_cat_ids(5) == q
    balanced = DATASETS.build(dict(type='ClassBalancedDataset', oversample_thr=0.5,
                                   dataset=mix))
    reads = [balanced[i]['lr_path'] for i in range(len(balanced))]
    assert reads.count(str(tmp_path / 'b' / 't0.png')) > reads.count(str(tmp_path / 'a' / 't0.png'))
    online = dict(type='OnlineSynthPlateDataset', num_plates=2, seed=0, pipeline=[])
    with pytest.raises(TypeError, match='OnlineSynthPlateDataset has no categories'):
        DATASETS.build(dict(type='ClassBalancedDataset', oversample_thr=0.5, dataset=dict(
            type='ConcatDataset', datasets=[sets[0], online])))


def test_a_negative_index_of_a_repeat_is_the_item_it_names(paired_root):
    repeated = RepeatDataset(_seeded(paired_root), times=3)
    assert np.array_equal(repeated[-1]['img_hr'], repeated[len(repeated) - 1]['img_hr'])
    with pytest.raises(IndexError):
        repeated[-len(repeated) - 1]


def test_two_online_sets_of_one_seed_in_a_mix_are_said_to_draw_the_same_plates():
    """They rendered pixel for pixel the same plates: the mix read each twice
    instead of twice as many (a mixing journey)."""
    from unittest import mock
    init_default_scope('dld')

    def online(seed):
        return dict(type='OnlineSynthPlateDataset', num_plates=2, seed=seed, pipeline=[])

    with mock.patch('mmengine.logging.print_log') as log:
        DATASETS.build(dict(type='ConcatDataset', datasets=[
            online(3), dict(type='RepeatDataset', times=2, dataset=online(3))]))
    [said] = [c.args[0] for c in log.call_args_list if 'share seed' in c.args[0]]
    assert '2 OnlineSynthPlateDataset parts share seed 3' in said
    with mock.patch('mmengine.logging.print_log') as log:
        DATASETS.build(dict(type='ConcatDataset', datasets=[online(3), online(4)]))
    assert not [c for c in log.call_args_list if 'share seed' in c.args[0]]
