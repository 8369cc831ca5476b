"""Reseed every epoch, so a resumed run continues exactly as an unbroken one."""
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from dld.datasets import EpochOffsetSampler, nested_datasets, reads_past_end
from dld.datasets.epoch_wrappers import epoch_fed
from dld.registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed python, numpy and torch from ``runner.seed`` and the epoch before
    each training epoch, and again before its first iteration.

    Why: a checkpoint does not hold the random generators' state, and they
    would not match anyway (validation after the save draws from them too).
    Without this, dropout, the scale draws and the selector's sampling after
    ``--resume`` differ from the uninterrupted run. With it, epoch ``e`` of the
    main process draws the same numbers whether or not the run was resumed
    before it (the sampler's shuffle is seeded per epoch by
    ``DistSamplerSeedHook`` already). ``runner.seed`` already holds the rank
    offset when ``randomness.diff_rank_seed`` is set.

    Why twice: starting a dataloader iterator draws a number from torch's
    generator, and persistent workers start theirs once per process: at the
    first epoch of an unbroken run, and again at the epoch a run resumes at.
    Seeding again once the epoch's iterator has started (before its first
    iteration) hides that extra draw; seeding before the epoch keeps what a
    dataloader without workers draws while it reads the first batch.

    The augmentations run in the dataloader workers, whose generators MMEngine
    seeds once per worker process, not per epoch. A training set with
    ``seed_pipeline`` (:class:`~dld.datasets.SeededPipelineMixin`: the
    configs' on-disk and rendered sets) seeds each item's draws from the
    sampler's index and the run's seed, given to it here before the workers
    start, so it resumes exactly too. That needs
    :class:`~dld.datasets.EpochOffsetSampler` (a new index each epoch);
    without it every epoch repeats the same augmentations, and this hook
    warns. A set without ``seed_pipeline`` read by persistent workers draws
    other augmentations after a resume than the unbroken run did (with
    ``num_workers=0`` this hook seeds them as well).
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        top = getattr(loader, 'dataset', None)
        sampler = getattr(getattr(loader, 'batch_sampler', None), 'sampler',
                          getattr(loader, 'sampler', None))
        # the sets a new index reaches each epoch (through DLD's wrappers)
        fed = ({id(d) for d in epoch_fed(top)} if isinstance(sampler, EpochOffsetSampler)
               else set())
        for dataset in nested_datasets(top):
            if hasattr(dataset, 'set_pipeline_seed'):
                dataset.set_pipeline_seed(int(runner.seed))
            if getattr(dataset, 'seed_pipeline', False) and id(dataset) not in fed:
                why = (f'the sampler is {type(sampler).__name__}'
                       if not isinstance(sampler, EpochOffsetSampler) else
                       'it is read through ' + ', '.join(
                           f'{type(d).__module__.split(".")[0]}\'s {type(d).__name__}'
                           for d in _wrappers_above(top, dataset) or () if not reads_past_end(d)))
                print_log(
                    f'{type(dataset).__name__} seeds each item\'s augmentations from the '
                    f'index it is read at (seed_pipeline=True), and {why}, not '
                    'EpochOffsetSampler through wrappers that pass the epoch on: every epoch '
                    'repeats the same augmentations. Use EpochOffsetSampler with DLD\'s '
                    'ConcatDataset and RepeatDataset (the configs\' scope), or '
                    'seed_pipeline=False.',
                    logger='current', level=logging.WARNING)

    def before_train_epoch(self, runner) -> None:
        _seed_everything(int(runner.seed) + int(runner.epoch))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if batch_idx == 0:
            entropy = [int(runner.seed) % (2**32), int(runner.epoch), 1]
            _seed_everything(int(np.random.SeedSequence(entropy).generate_state(1)[0]))


def _seed_everything(seed: int) -> None:
    seed %= 2**32
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _wrappers_above(top, dataset) -> Optional[list]:
    """The wrappers from ``top`` down to ``dataset``, outermost first (None
    where ``dataset`` is not below ``top``)."""
    if top is dataset:
        return []
    inner = getattr(top, 'datasets', None)
    children = list(inner) if isinstance(inner, (list, tuple)) else []
    if getattr(top, 'dataset', None) is not None:
        children.append(top.dataset)
    for child in children:
        below = _wrappers_above(child, dataset)
        if below is not None:  # found there
            return [top, *below]
    return None
