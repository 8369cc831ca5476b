"""Reseed every epoch, so a resumed run continues exactly as an unbroken one."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from dld.registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed python, numpy and torch with ``runner.seed + epoch`` before each
    training epoch.

    Why: a checkpoint does not hold the random generators' state, and they
    would not match anyway (validation after the save draws from them too).
    Without this, dropout, the scale draws and the selector's sampling after
    ``--resume`` differ from the uninterrupted run. With it, epoch ``e`` of the
    main process draws the same numbers whether or not the run was resumed
    before it (the sampler's shuffle is seeded per epoch by
    ``DistSamplerSeedHook`` already). ``runner.seed`` already holds the rank
    offset when ``randomness.diff_rank_seed`` is set.

    The augmentations run in the dataloader workers, whose generators MMEngine
    seeds once per worker process, not per epoch. Plates rendered when read
    (:class:`~dld.datasets.OnlineSynthPlateDataset`, the schedule's cycles)
    seed each item's draws from its index, so they resume exactly too; an
    on-disk set read by persistent workers draws other augmentations after a
    resume than the unbroken run did (with ``num_workers=0`` this hook seeds
    them as well).
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        seed = (int(runner.seed) + int(runner.epoch)) % (2**32)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # also seeds every CUDA device
