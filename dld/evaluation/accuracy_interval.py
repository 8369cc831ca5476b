"""How sure one accuracy is: a confidence interval over the test images.

The frames of one track share a plate and a blur, and are read alike, so a
test set of 300 tracks of 5 frames holds less evidence than 1500
independent images would. The interval here is Wilson's score interval
for a proportion, with the number of images replaced by the *effective*
number (Kish): the images over the design effect, the variance of the
accuracy computed from the tracks' totals (the cluster-robust, ratio
estimator's) over the variance it would have if every image were drawn on
its own. Where every track has one image, or its frames are read no more
alike than independent images, this is Wilson's interval over the images.

Where every image is read right, or none is, the spread of the tracks says
nothing of how alike their frames are read; the interval then counts each
track once (the design effect of frames read all alike), the cautious
choice. Wilson's interval, unlike the normal one, stays inside [0, 1] and
is not empty at 0 % or 100 %.

It is deterministic (no resampling), so a report made twice says the same.
"""
import math
from statistics import NormalDist
from typing import Dict, Optional, Sequence

import numpy as np


def wilson_interval(successes: float, n: float, level: float = 0.95):
    """Wilson's score interval ``(low, high)`` of a proportion of ``successes``
    out of ``n`` (either may be fractional: an effective count)."""
    if n <= 0:
        return None, None
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_interval(right: Sequence[bool], groups: Optional[Sequence] = None,
                      level: float = 0.95) -> Dict[str, Optional[float]]:
    """The accuracy of ``right`` (one bool per image) and its ``level``
    interval, the images of one group (track) counted as alike as the data
    show (module docstring); ``groups`` None: every image its own. Returns
    ``accuracy``, ``low``, ``high`` (fractions; None for no image),
    ``images``, ``groups`` and ``effective_images``."""
    if not isinstance(right, np.ndarray):
        right = list(right)  # a generator: numpy's float() of it was a TypeError
    y = np.asarray(right, dtype=np.float64).reshape(-1)
    n = len(y)
    if not 0 < level < 1:
        raise ValueError(f'level is a fraction between 0 and 1 (0.95), got {level!r}')
    if groups is None:
        groups = np.arange(n)
    groups = np.asarray([str(g) for g in groups])
    if groups.shape != y.shape:
        raise ValueError(f'one group per image is needed: {n} images, {len(groups)} groups')
    if not n:
        return dict(accuracy=None, low=None, high=None, images=0, groups=0,
                    effective_images=0.0)
    _, group = np.unique(groups, return_inverse=True)
    totals = np.bincount(group, weights=y)
    sizes = np.bincount(group).astype(np.float64)
    g = len(sizes)
    p = float(y.mean())
    if 0.0 < p < 1.0 and g > 1:
        # the ratio estimator's variance from the tracks' residual totals, over
        # the same estimator's with one image a track (so 1 where they are)
        cluster_var = g / (g - 1) * float(((totals - p * sizes) ** 2).sum())
        image_var = n / (n - 1) * n * p * (1 - p)
        design_effect = max(1.0, cluster_var / image_var)
    else:  # nothing to measure how alike a track's frames read: all alike
        design_effect = n / g
    effective = n / design_effect
    low, high = wilson_interval(p * effective, effective, level)
    return dict(accuracy=p, low=low, high=high, images=int(n), groups=int(g),
                effective_images=float(effective))
