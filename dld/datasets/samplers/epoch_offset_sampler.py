"""A sampler whose every epoch reads another range of an endless dataset."""
import logging
from typing import Iterator

from mmengine.dataset import DefaultSampler
from mmengine.logging import print_log

from dld.registry import DATA_SAMPLERS

from ..epoch_wrappers import reads_past_end


@DATA_SAMPLERS.register_module()
class EpochOffsetSampler(DefaultSampler):
    """:class:`~mmengine.dataset.DefaultSampler` that adds ``epoch * len(dataset)``
    to every index it yields.

    Why: with a dataset that renders item ``i`` from seed ``i`` for any
    ``i >= 0`` (:class:`~dld.datasets.OnlineSynthPlateDataset`), epoch ``e``
    then reads items ``e*N ... e*N+N-1``: new plates every epoch. A set on
    disk with ``seed_pipeline`` reads its items again, each with the
    augmentations of index ``e*N + i``: new draws every epoch, the same on
    every run. The epoch comes from ``set_epoch`` (MMEngine's ``DistSamplerSeedHook``), so a resumed
    run reads the same plates as an unbroken one; shuffling, rounding up and
    the split across ranks are the default sampler's.

    Only datasets that read indices past their end do (DLD's plate datasets,
    :class:`~dld.datasets.SeededPipelineMixin`, and the ``ConcatDataset``,
    ``RepeatDataset`` and ``ClassBalancedDataset`` of DLD's scope, which
    pass the epoch on to the sets they hold). Another wrapper (MMEngine's
    own classes) fails on index ``N``, so it is read as the default sampler reads it (the
    same indices every epoch), with a warning, rather than failing at the
    start of the second epoch.
    """

    def __init__(self, dataset, *args, **kwargs) -> None:
        super().__init__(dataset, *args, **kwargs)
        self.offsets_epochs = reads_past_end(dataset)
        if not self.offsets_epochs:
            print_log(
                f'EpochOffsetSampler: {type(dataset).__name__} does not read indices past '
                'its end, so every epoch reads indices 0..len-1 as DefaultSampler does '
                '(the same items and, with seed_pipeline, the same augmentations). Put the '
                'sampler on a DLD plate dataset directly for new ones each epoch.',
                logger='current', level=logging.WARNING)

    def __iter__(self) -> Iterator[int]:
        offset = self.epoch * len(self.dataset) if self.offsets_epochs else 0
        return (offset + i for i in super().__iter__())
