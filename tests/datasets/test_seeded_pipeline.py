"""On-disk plate sets with ``seed_pipeline``: an item's augmentations, its
random frame and a retry's substitute come from the item's own seed."""
import numpy as np
import pytest

from dld.datasets import EpochOffsetSampler, PairedPlateDataset

AUGMENT = [dict(type='LoadPlateImages'),
           dict(type='PlateRandomAffine', prob=1.0, keys=('img', 'img_hr')),
           dict(type='PlatePhotometricDistort', prob=1.0, keys=('img', 'img_hr'))]


def make(root, **kw):
    kw.setdefault('frames', 'all')
    kw.setdefault('pipeline', AUGMENT)
    return PairedPlateDataset(data_root=str(root), ann_file='train.txt', seed_pipeline=True,
                              **kw)


def _read_under(ds, idx, global_seed):
    np.random.seed(global_seed)
    return ds[idx]


def test_an_item_reads_alike_whatever_the_global_generators_hold(
        paired_root, read_alike_from_any_global_state):
    first = read_alike_from_any_global_state(make(paired_root), 4)
    plain = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='all',
                               pipeline=AUGMENT[:1])[4]
    assert not np.array_equal(first['img_hr'], plain['img_hr'])  # it was augmented


def test_an_index_past_the_end_is_the_same_item_augmented_anew(paired_root):
    ds = make(paired_root)
    n = len(ds)
    item, later = ds[4], ds[4 + 2 * n]
    assert later['track_id'] == item['track_id'] and later['frame_idx'] == item['frame_idx']
    assert later['gt_text'] == item['gt_text'] == 'XYZ9A87'
    assert not np.array_equal(item['img_hr'], later['img_hr'])
    np.testing.assert_array_equal(later['img_hr'], _read_under(ds, 4 + 2 * n, 9)['img_hr'])


def test_the_dataset_and_run_seeds_change_the_draws_not_the_item(paired_root):
    reads = []
    for seed, run_seed in ((0, 1), (0, 1), (3, 1), (0, 2)):
        ds = make(paired_root, seed=seed)
        ds.set_pipeline_seed(run_seed)
        reads.append(ds[1])
    assert len({r['gt_text'] for r in reads}) == 1
    np.testing.assert_array_equal(reads[0]['img_hr'], reads[1]['img_hr'])
    assert not np.array_equal(reads[0]['img_hr'], reads[2]['img_hr'])
    assert not np.array_equal(reads[0]['img_hr'], reads[3]['img_hr'])


def test_the_random_frame_follows_the_index(paired_root):
    ds = make(paired_root, frames='random', seed=0, pipeline=AUGMENT[:1])
    frames = [ds[0 + 2 * epoch]['frame_idx'] for epoch in range(12)]
    assert frames == [_read_under(ds, 0 + 2 * epoch, epoch)['frame_idx']
                      for epoch in range(12)]
    assert len(set(frames)) > 1  # other epochs, other frames (3 to choose from)


def test_a_substitute_for_an_unreadable_image_follows_the_index(paired_root):
    (paired_root / 't0' / 'lr-0.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    ds = make(paired_root, pipeline=AUGMENT[:1])
    assert ds.max_retry == 5
    subs = {(s['track_id'], s['frame_idx'])
            for s in (_read_under(ds, 0, g) for g in range(6))}
    assert len(subs) == 1 and subs != {('t0', 0)}
    assert ds.num_skipped_images >= 6


def test_iterating_reads_each_item_once_and_negative_indices_are_refused(paired_root):
    ds = make(paired_root, pipeline=AUGMENT[:1])
    assert [(s['track_id'], s['frame_idx']) for s in ds] == [
        (f't{t}', k) for t in range(2) for k in range(3)]
    with pytest.raises(IndexError, match='index -1'):
        ds[-1]


def test_with_the_epoch_offset_sampler_each_epoch_draws_anew_and_resumes_alike(paired_root):
    ds = make(paired_root)
    sampler = EpochOffsetSampler(ds, shuffle=True, seed=0)

    def epoch(e):
        sampler.set_epoch(e)
        return {(s['track_id'], s['frame_idx']): s['img_hr'] for s in map(ds.__getitem__,
                                                                          sampler)}

    first, second = epoch(0), epoch(1)
    assert first.keys() == second.keys() and len(first) == len(ds)
    assert all(not np.array_equal(first[k], second[k]) for k in first)
    again = epoch(1)  # a resumed run's second epoch
    assert all(np.array_equal(second[k], again[k]) for k in second)


def test_no_run_seed_draws_other_numbers_than_run_seed_0(paired_root):
    """NumPy's SeedSequence reads [.., s] like [.., s, 0]; the seed must not."""
    unset, zero = make(paired_root), make(paired_root)
    zero.set_pipeline_seed(0)
    assert not np.array_equal(unset[1]['img_hr'], zero[1]['img_hr'])
