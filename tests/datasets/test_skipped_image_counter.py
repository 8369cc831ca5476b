"""SkippedImageCounter: a dataset's skips, summed over its dataloader workers."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from dld.datasets import PairedPlateDataset

PIPELINE = [dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')]
CORRUPT = b'\x89PNG\r\n\x1a\n not really'


def _read_with_forked_workers(dataset):
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2,
                                         collate_fn=pseudo_collate,
                                         multiprocessing_context='fork')
    for _ in loader:
        pass


@pytest.mark.parametrize('copy_of', [
    copy.deepcopy,
    lambda ds: ds.get_subset([0, 1, 2]),  # MMEngine's, a deep copy without the data list
], ids=['deepcopy', 'get_subset'])
def test_a_copy_of_a_dataset_still_counts_its_workers_skips(paired_root, copy_of):
    # A plain tensor copy would live in each forked worker's own memory:
    # the copy's main process would see none of its workers' skips.
    (paired_root / 't0' / 'lr-0.png').write_bytes(CORRUPT)
    original = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt',
                                  frames='all', pipeline=PIPELINE, test_mode=True, max_retry=1)
    copied = copy_of(original)
    _read_with_forked_workers(copied)
    assert copied.num_skipped_images == 1
    assert original.num_skipped_images == 0  # each counts on its own
    _read_with_forked_workers(original)
    assert (original.num_skipped_images, copied.num_skipped_images) == (1, 1)
