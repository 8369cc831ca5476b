"""The oracle selector: per image, the scale that reads it right most cheaply.

It knows whether each reading is right, which no selector can before
reading, so its FLOPs are the floor every selector over the same student and
scales is judged against.
"""
from typing import Optional

import numpy as np


def oracle_choice(correct: np.ndarray, cost: np.ndarray,
                  num_correct: Optional[int] = None) -> np.ndarray:
    """Index of the scale the oracle reads each image at.

    Args:
        correct: ``(N, K)`` whether the student reads image ``n`` right at
            scale ``k``; scales in ascending cost.
        cost: ``(K,)`` the cost of one reading at each scale (ascending).
        num_correct: without it, each image goes to its cheapest right scale,
            or to the cheapest scale when none is right (no scale helps it,
            so the floor spends least on it). With it, the
            cheapest choice that reads ``num_correct`` images right (the
            oracle *at equal accuracy*): every image starts at the cheapest
            scale and right readings are bought cheapest first; each image
            adds exactly one right answer, so buying in order of extra cost
            is optimal.

    Returns:
        ``(N,)`` int64 scale indices.
    """
    correct = np.asarray(correct, dtype=bool)
    cost = np.asarray(cost, dtype=np.float64)
    n, k = correct.shape
    if cost.shape != (k,):
        raise ValueError(f'cost has shape {cost.shape}, expected ({k},)')
    if np.any(np.diff(cost) < 0):
        raise ValueError(f'scales must come in ascending cost, got costs {cost.tolist()}')
    any_right = correct.any(axis=1)
    cheapest_right = np.where(any_right, correct.argmax(axis=1), 0)
    if num_correct is None:
        return cheapest_right.astype(np.int64)
    chosen = np.zeros(n, dtype=np.int64)
    buyable = np.flatnonzero(any_right & ~correct[:, 0])
    need = max(0, int(num_correct) - int(correct[:, 0].sum()))
    extra = cost[cheapest_right[buyable]] - cost[0]
    bought = buyable[np.argsort(extra, kind='stable')[:need]]
    chosen[bought] = cheapest_right[bought]
    return chosen
