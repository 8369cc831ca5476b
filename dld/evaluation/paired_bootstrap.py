"""How sure a difference in accuracy between two readings of the same images is.

The frames of one track are alike (the same plate, the same blur), so they
are not independent samples: an interval that resamples frames, or a test
that counts them (McNemar), is narrower than the data allows. Resampling
whole tracks is not.
"""
from typing import Dict, Sequence

import numpy as np


def paired_difference(a_right: Sequence[bool], b_right: Sequence[bool], groups: Sequence,
                      resamples: int = 2000, seed: int = 0,
                      level: float = 0.95) -> Dict[str, float]:
    """The difference of the accuracies (``a - b``, a fraction) of two
    readings of the same images, right or not per image, and its ``level``
    bootstrap interval resampling whole ``groups`` (tracks; one group per
    image treats them as independent). Returns ``difference``, ``low``,
    ``high``, ``images`` and ``groups``."""
    a = np.asarray(a_right, dtype=np.float64)
    b = np.asarray(b_right, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f'two readings of the same images are needed, got {a.shape} and '
                         f'{b.shape}')
    diff = a - b
    _, group = np.unique(np.asarray(groups), return_inverse=True)
    per_group = np.bincount(group, weights=diff)
    counts = np.bincount(group).astype(np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(counts), size=(resamples, len(counts)))
    resampled = per_group[picks].sum(1) / counts[picks].sum(1)
    tail = (1 - level) / 2
    return dict(difference=float(diff.mean()), low=float(np.quantile(resampled, tail)),
                high=float(np.quantile(resampled, 1 - tail)), images=int(len(diff)),
                groups=int(len(counts)))
