"""One line per epoch on the images its data loaders could not read."""
import logging
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from dld.datasets import nested_datasets
from dld.registry import HOOKS


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """After each training, validation and test epoch, warn how many images
    the epoch's plate sets skipped (``max_retry``), and how many in all.

    Why: each skip is logged where it happens, in a dataloader worker, among
    hundreds of lines; the count a worker prints is its own. A corrupt file
    in a set read every epoch then passes unnoticed, and in test mode (with
    ``max_retry > 0``) the next item is scored in its place, twice. The
    datasets count in shared memory
    (:class:`~dld.datasets.SkippedImageCounter`), so the main process sees
    every worker's skips. Several processes: each counts the items it
    reads, and the counts are summed over them before the first process
    says them (it said its own: 1 of 4 unreadable images where the second
    process read the other 3; the paths in the warnings are the first
    process's, as other processes log only errors).

    An iteration-based training has one "epoch", its whole length, so its
    skips are reported every ``train_iter_interval`` iterations instead, and
    at its end ("up to iteration N" includes the batches the workers have
    already read ahead).
    """

    priority = 'LOW'

    def __init__(self, train_iter_interval: int = 1000) -> None:
        if train_iter_interval < 1:
            raise ValueError(f'train_iter_interval must be >= 1, got {train_iter_interval}.')
        self.train_iter_interval = train_iter_interval
        self._reported: Dict[int, int] = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if (isinstance(runner.train_loop, IterBasedTrainLoop)
                and self.every_n_train_iters(runner, self.train_iter_interval)):
            self._report(runner, runner.train_dataloader, 'training',
                         f' up to iteration {runner.iter + 1}')

    def after_train_epoch(self, runner) -> None:
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            when = f' up to iteration {runner.iter}'
        else:  # MMEngine counts the epoch up after this hook, before validation.
            when = f' of epoch {runner.epoch + 1}'
        self._report(runner, runner.train_dataloader, 'training', when)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        when = ''
        if isinstance(getattr(runner, '_train_loop', None), IterBasedTrainLoop):
            when = f' at iteration {runner.iter}'
        elif runner.epoch:
            when = f' of epoch {runner.epoch}'
        self._report(runner, runner.val_dataloader, 'validation', when)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._report(runner, runner.test_dataloader, 'test', '')

    def _report(self, runner, dataloader, stage: str, when: str) -> None:
        datasets = [d for d in nested_datasets(getattr(dataloader, 'dataset', None))
                    if getattr(d, 'skipped_images', None) is not None]
        totals = [d.skipped_images.total for d in datasets]
        if get_world_size() > 1 and datasets:  # every process calls this, alike
            summed = torch.tensor(totals, dtype=torch.int64)
            all_reduce(summed, op='sum')
            totals = summed.tolist()
        for dataset, total in zip(datasets, totals):
            new = total - self._reported.get(id(dataset), 0)
            self._reported[id(dataset)] = total
            if new <= 0:
                continue
            instead = ('another random item was read in place of each'
                       if not dataset.test_mode else
                       'the next item was scored in place of each, so the metrics count it '
                       'twice and the unreadable one not at all (the track votes count it '
                       'once)')
            print_log(
                f'{type(dataset).__name__} ({dataset.ann_file or dataset.data_root}): {new} '
                f'image(s) could not be read in the {stage}{when} ({total} so far); {instead}. '
                'Their paths are in the warnings above (each said at its first skip).',
                logger='current', level=logging.WARNING)
