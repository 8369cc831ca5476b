"""Draw from numpy's and python's global generators under a seed of one's own,
or leave every global generator as it was."""
import random
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np


@contextmanager
def global_random_seeded(entropy: Sequence[int]) -> Iterator[None]:
    """Seed ``np.random`` and ``random`` from ``entropy`` inside the block and
    give both their previous state back after it.

    Why: the augmentations draw from the global generators, whose state in a
    dataloader worker is set once per worker process; seeding them per item
    makes an item's augmentation a function of the item alone (the same
    after ``--resume``, whatever worker reads it), and restoring the state
    leaves every other user of the generators undisturbed.
    """
    np_state, py_state = np.random.get_state(), random.getstate()
    seed = int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


@contextmanager
def global_random_kept() -> Iterator[None]:
    """Give numpy's, python's and torch's global generators (CPU, and every
    CUDA device once CUDA is in use) their state back after the block.

    Why: work that is not training's but runs inside a training run (the
    teacher's read of the validation set before the first step) draws from
    them too (a dataloader's base seed, a random frame policy): without this
    it moved every later draw, and a run trained other weights with the hook
    than without it.
    """
    import torch
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
