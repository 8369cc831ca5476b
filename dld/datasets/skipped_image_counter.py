"""A count of skipped images that the dataloader's worker processes share."""
import hashlib

import torch
from torch.utils.data import get_worker_info


class SkippedImageCounter:
    """How many images a dataset skipped, summed over every process that
    reads it: the main process and its dataloader workers.

    Why: the workers read the items, so a plain attribute counts in each
    worker's copy of the dataset and the main process, which logs the
    epoch's summary, never sees it. The counts live in shared memory, one
    slot per process (the main process and each worker id), so no two
    processes write the same slot and no lock is needed. Workers started
    with ``fork`` share it directly, ones started with ``spawn`` receive it
    through torch's shared-memory pickling. A deep copy of the dataset
    (``copy.deepcopy``, MMEngine's ``get_subset``) counts on its own, from
    the counts so far, in shared memory of its own: a plain tensor copy
    would be private to each forked worker, and the copy's workers' skips
    would never reach the main process.

    It also holds which paths were warned of (:meth:`first_skip`), in
    shared memory too: a worker's own set was lost with the worker, so each
    epoch's new workers warned of a corrupt file again, every epoch.
    """

    #: Slot 0 is the main process; worker ``i`` adds to slot ``1 + i % 63``.
    num_slots = 64
    #: Distinct paths remembered as warned of; past them every skip is warned of.
    num_path_slots = 1024

    def __init__(self) -> None:
        self._counts = torch.zeros(self.num_slots, dtype=torch.int64).share_memory_()
        self._warned = torch.zeros(self.num_path_slots, dtype=torch.int64).share_memory_()

    def __deepcopy__(self, memo: dict) -> 'SkippedImageCounter':
        other = type(self).__new__(type(self))
        other._counts = self._counts.clone().share_memory_()
        other._warned = self._warned.clone().share_memory_()
        memo[id(self)] = other
        return other

    def add(self, num: int = 1) -> None:
        worker = get_worker_info()
        slot = 0 if worker is None else 1 + worker.id % (self.num_slots - 1)
        self._counts[slot] += num

    @property
    def total(self) -> int:
        return int(self._counts.sum())

    def first_skip(self, path: str) -> bool:
        """Whether no process reading this set has skipped ``path`` before
        (its warning is due), recorded as it is asked. A table of path
        hashes, probed in turn; two workers filling one free slot at once
        may each warn of their path (rare, harmless)."""
        digest = hashlib.blake2b(path.encode('utf-8', 'surrogateescape'), digest_size=8)
        key = (int.from_bytes(digest.digest(), 'little') >> 1) or 1  # > 0: 0 is free
        size = self.num_path_slots
        for step in range(size):
            slot = (key + step) % size
            held = int(self._warned[slot])
            if held == key:
                return False
            if held == 0:
                self._warned[slot] = key
                return True
        return True  # the table is full: warned of, as every skip was
