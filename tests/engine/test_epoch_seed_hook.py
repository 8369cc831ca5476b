"""EpochSeedHook seeds the main process per epoch and the training set's
per-item augmentation with the run's seed."""
import random
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.dataset import ConcatDataset

from dld.datasets import OnlineSynthPlateDataset
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
