"""Reducing per-sample losses ``(B,)`` to what a caller asked for.

Every loss in this package first computes one value per sample and a
``(B,)`` bool saying whether that sample had anything to compare (at least
one valid step, one existing beam, one valid position). Samples without
anything to compare are left out of the mean instead of pulling it to zero.
"""
import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` or raise a ValueError naming the valid choices."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
    return reduction


def reduce_samples(per_sample: Tensor, valid: Tensor, reduction: str = 'mean') -> Tensor:
    """Reduce per-sample losses over the batch.

    Args:
        per_sample: ``(B,)`` loss of each sample; entries of invalid samples
            may hold anything (they are replaced by 0 with ``torch.where`` so
            that neither their value nor a NaN gradient leaks out).
        valid: ``(B,)`` bool, True where the sample has something to compare.
        reduction: ``'none'`` -> ``(B,)`` (0 for invalid samples), ``'mean'``
            -> scalar mean over valid samples (0 when none is valid),
            ``'sum'`` -> scalar sum over valid samples.
    """
    check_reduction(reduction)
    per_sample = per_sample.where(valid, per_sample.new_zeros(()))
    if reduction == 'none':
        return per_sample
    if reduction == 'sum':
        return per_sample.sum()
    return per_sample.sum() / valid.sum().clamp(min=1).to(per_sample.dtype)


def upcast_half(x: Tensor) -> Tensor:
    """``x`` in float32 if it is float16 or bfloat16 (an autocast output):
    losses sum many small terms, which half precision rounds away."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
