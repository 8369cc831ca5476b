"""EpochOffsetSampler on datasets that cannot read past their end."""
from unittest import mock

from mmengine.dataset import ConcatDataset

from dld.datasets import EpochOffsetSampler, PairedPlateDataset


def two_sets_concatenated(root):
    return ConcatDataset([
        PairedPlateDataset(data_root=str(root), ann_file='train.txt', frames='first',
                           seed_pipeline=True, pipeline=[], track_prefix=f'{k}/')
        for k in range(2)])


def test_a_wrapped_set_is_read_every_epoch_rather_than_failing_at_the_second(paired_root):
    both = two_sets_concatenated(paired_root)
    sampler = EpochOffsetSampler(both, shuffle=False)
    sampler.set_epoch(3)
    indices = list(sampler)
    assert indices == list(range(len(both)))
    assert [both[i]['track_id'] for i in indices] == ['0/t0', '0/t1', '1/t0', '1/t1']


def test_a_wrapped_set_is_a_warning_and_a_plate_set_is_offset_quietly(paired_root):
    where = 'dld.datasets.samplers.epoch_offset_sampler.print_log'
    with mock.patch(where) as log:
        EpochOffsetSampler(two_sets_concatenated(paired_root), shuffle=False)
    assert 'ConcatDataset does not read indices past its end' in log.call_args.args[0]
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='first',
                            pipeline=[])
    with mock.patch(where) as log:
        sampler = EpochOffsetSampler(ds, shuffle=False)
    assert not log.called
    sampler.set_epoch(2)
    assert list(sampler) == [4, 5]
