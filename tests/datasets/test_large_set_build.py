"""What keeps building and checking a large set cheap changes nothing it gives."""
import gc

import numpy as np
import pytest
from mmengine.dataset import BaseDataset

from dld.datasets import PairedPlateDataset
from dld.evaluation import paired_bootstrap
from dld.evaluation.paired_bootstrap import paired_difference
from dld.utils.gc_paused import gc_paused


def test_gc_paused_restores_the_collector_also_on_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            assert not gc.isenabled()
            with gc_paused():  # nested: the outer block keeps it off
                pass
            assert not gc.isenabled()
            raise RuntimeError('boom')
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()


@pytest.mark.parametrize('serialize', [True, False])
@pytest.mark.parametrize('frames', ['all', 'random'])
def test_listed_info_is_the_listed_item_without_a_draw(paired_root, serialize, frames):
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames=frames,
                            serialize_data=serialize, seed=0)
    for idx in range(len(ds)):
        listed = ds.listed_info(idx)
        copied = BaseDataset.get_data_info(ds, idx)
        copied.pop('sample_idx')
        listed = {k: v for k, v in listed.items() if k != 'sample_idx'}
        assert listed == copied
        assert 'lr_paths' in listed and 'lr_path' not in listed
    # item_labels and files_read read it: the same as before, in order
    assert [label for _, label in ds.item_labels()] == [
        BaseDataset.get_data_info(ds, i)['gt_text'] for i in range(len(ds))]
    assert len(list(ds.files_read())) == 12  # 6 frames, LR and HR (train mode)


def test_paired_data_root_relative_or_absolute_gives_the_same_paths(paired_root, monkeypatch):
    monkeypatch.chdir(paired_root.parent)
    rel = PairedPlateDataset(data_root=paired_root.name, ann_file='train.txt', frames='all')
    absolute = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt',
                                  frames='all')
    assert [rel.get_data_info(i)['lr_path'] for i in range(len(rel))] == \
        [absolute.get_data_info(i)['lr_path'] for i in range(len(absolute))]
    assert rel.get_data_info(0)['lr_path'] == str(paired_root / 't0' / 'lr-0.png')


@pytest.mark.parametrize('groups', [1, 7, 400])
def test_paired_difference_in_blocks_is_the_one_array_result(monkeypatch, groups):
    rng = np.random.default_rng(1)
    a, b = rng.random(groups * 3) < 0.7, rng.random(groups * 3) < 0.6
    tracks = np.repeat(np.arange(groups), 3)
    monkeypatch.setattr(paired_bootstrap, '_PICKS_AT_ONCE', 1 << 40)  # one block
    whole = paired_difference(a, b, tracks, resamples=301)
    for at_once in (1, groups * 5 + 1, groups * 64):
        monkeypatch.setattr(paired_bootstrap, '_PICKS_AT_ONCE', at_once)
        assert paired_difference(a, b, tracks, resamples=301) == whole


@pytest.mark.parametrize('b,c', [(0, 3), (480, 900), (1000, 1100), (2000, 2300), (5000, 5200)])
def test_mcnemar_p_of_many_discordant_images_is_the_exact_sum(b, c):
    import math

    from dld.apis.reading_analysis import mcnemar_p
    n = b + c
    exact = min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n)
    assert mcnemar_p(b, c) == pytest.approx(exact, rel=1e-9)
    assert mcnemar_p(c, b) == mcnemar_p(b, c)
