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


def test_an_unreadable_path_is_warned_of_once_a_run_over_workers_and_epochs(paired_root):
    """Each epoch's new workers (and each worker) held their own set of
    warned paths: a corrupt file was warned of again every epoch, forever.
    The count goes on (SkippedImagesHook says it each epoch)."""
    from unittest import mock
    bad = paired_root / 't0' / 'lr-0.png'
    bad.write_bytes(CORRUPT)
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='all',
                            pipeline=PIPELINE, test_mode=True, max_retry=1)
    for _ in range(2):  # two epochs of forked workers: the first's records its warning
        _read_with_forked_workers(ds)
    assert ds.num_skipped_images == 2
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        ds[0]  # in the main process, a third epoch: counted, not warned of again
    assert ds.num_skipped_images == 3 and log.call_count == 0
    assert not ds.skipped_images.first_skip(str(bad))  # warned of already, in a worker
    assert copy.deepcopy(ds).skipped_images.first_skip(str(paired_root / 't1' / 'lr-0.png'))
