"""Per-item seeds for a training set's random draws: an item is the same
image every time a run reads it, whichever dataloader worker reads it."""
from contextlib import nullcontext
from typing import ContextManager, Iterator, Optional

from dld.utils import global_random_seeded

# Seeds (stream seed, _AUGMENT_CODE, index, run seed?) of an item's draws:
# never the (seed, split or 3, ...) seeds the synthetic plates are drawn
# from, so an augmentation never replays a plate's own draws.
_AUGMENT_CODE = 4


class SeededPipelineMixin:
    """Draw an item's augmentations (and any other random choice made while
    reading it) from a seed of its own: the dataset's seed, the index the
    sampler asked for, and the run's ``randomness.seed``.

    Why: dataloader workers seed their generators once per process, and
    persistent workers keep them across epochs, so after ``--resume`` they
    draw other numbers than the unbroken run did at the same epoch. Seeded
    per item, the draws depend on the item alone. The index must then change
    from epoch to epoch, or every epoch repeats the same augmentations:
    :class:`~dld.datasets.EpochOffsetSampler` adds ``epoch * len(dataset)``
    to it, and :class:`~dld.engine.hooks.EpochSeedHook` warns when a training
    set with seeded draws is read without it.

    The class using it sets ``seed_pipeline``, wraps each read in
    :meth:`item_draws` and reads any index ``>= 0`` (past the end: the
    same items in another epoch).
    """

    seed_pipeline: bool = False
    pipeline_seed: Optional[int] = None

    def set_pipeline_seed(self, seed: Optional[int]) -> None:
        """Mix ``seed`` (the run's) into every item's seed; set it before the
        dataloader's workers start, which copy the dataset."""
        self.pipeline_seed = None if seed is None else int(seed) % (2**32)

    def item_draws(self, stream_seed: int, index: int) -> ContextManager[None]:
        """A context in which the global ``random`` and ``np.random`` draw
        item ``index``'s numbers (when ``seed_pipeline``; else a no-op)."""
        if not self.seed_pipeline:
            return nullcontext()
        # Fixed length: SeedSequence reads [..., s] and [..., s, 0] alike, so
        # "no run seed" gets a flag of its own rather than a missing entry.
        given = self.pipeline_seed is not None
        entropy = [int(stream_seed), _AUGMENT_CODE, int(index), int(given),
                   self.pipeline_seed if given else 0]
        return global_random_seeded(entropy)

    def __iter__(self) -> Iterator[dict]:
        # Indices past the end are valid, so the sequence protocol's
        # "read until IndexError" would never stop.
        return (self[i] for i in range(len(self)))
