"""A sampler whose every epoch reads another range of an endless dataset."""
from typing import Iterator

from mmengine.dataset import DefaultSampler

from dld.registry import DATA_SAMPLERS


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
    """

    def __iter__(self) -> Iterator[int]:
        offset = self.epoch * len(self.dataset)
        return (offset + i for i in super().__iter__())
