"""EpochSeedHook seeds the main process per epoch and the training set's
per-item augmentation with the run's seed."""
import random
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset, DefaultSampler

from dld.datasets import EpochOffsetSampler, OnlineSynthPlateDataset
from dld.engine.hooks import EpochSeedHook


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_each_epoch_and_its_first_iteration_draw_the_same_numbers_on_any_run():
    hook = EpochSeedHook()
    seen = []
    for resumed in (False, True):
        runner = SimpleNamespace(seed=7, epoch=3)
        hook.before_train_epoch(runner)
        at_epoch = _draws()
        if resumed:  # its persistent dataloader iterator starts at this epoch
            torch.empty((), dtype=torch.int64).random_()
        hook.before_train_iter(runner, batch_idx=0)
        seen.append((at_epoch, _draws()))
    assert seen[0] == seen[1]
    hook.before_train_iter(SimpleNamespace(seed=7, epoch=3), batch_idx=1)  # no reseed
    assert _draws() != seen[0][1]
    hook.before_train_epoch(SimpleNamespace(seed=7, epoch=4))
    assert _draws() != seen[0][0]


def test_the_training_sets_wrapped_or_not_get_the_runs_seed():
    inner = [OnlineSynthPlateDataset(num_plates=2, lazy_init=True) for _ in range(2)]
    runner = SimpleNamespace(seed=11, train_dataloader=SimpleNamespace(
        dataset=ConcatDataset(inner, lazy_init=True)))
    EpochSeedHook().before_train(runner)
    assert [ds.pipeline_seed for ds in inner] == [11, 11]


def _runner_reading(dataset, sampler):
    loader = SimpleNamespace(dataset=dataset, sampler=sampler,
                             batch_sampler=SimpleNamespace(sampler=sampler))
    return SimpleNamespace(seed=0, train_dataloader=loader)


@pytest.mark.parametrize('wrapped, sampler_type, warns', [
    (False, EpochOffsetSampler, False),
    (False, DefaultSampler, True),
    (True, EpochOffsetSampler, True),  # MMEngine's wrapper cannot read past its end
    ('dld', EpochOffsetSampler, False),  # DLD's (the configs') passes the epoch on
])
def test_seeded_draws_without_a_new_index_each_epoch_are_a_warning(wrapped, sampler_type,
                                                                   warns):
    from dld.registry import DATASETS
    dataset = OnlineSynthPlateDataset(num_plates=2, lazy_init=True)
    top = ConcatDataset([dataset], lazy_init=True) if wrapped is True else dataset
    if wrapped == 'dld':  # a repeat inside a concatenation, as a config gives them
        top = DATASETS.build(dict(type='ConcatDataset', lazy_init=True, datasets=[dict(
            type='RepeatDataset', times=2, lazy_init=True,
            dataset=dict(type='OnlineSynthPlateDataset', num_plates=2, lazy_init=True))]))
        dataset = top.datasets[0].dataset
    runner = _runner_reading(top, sampler_type(top, shuffle=False))
    with mock.patch('dld.engine.hooks.epoch_seed_hook.print_log') as log:
        EpochSeedHook().before_train(runner)
    messages = [c.args[0] for c in log.call_args_list]
    assert bool(messages) is warns
    if warns:
        assert 'every epoch repeats the same augmentations' in messages[0]
        assert ('ConcatDataset' if wrapped else 'DefaultSampler') in messages[0]
    dataset.seed_pipeline = False  # new draws each epoch from the workers' generators
    with mock.patch('dld.engine.hooks.epoch_seed_hook.print_log') as log:
        EpochSeedHook().before_train(runner)
    assert not log.called
