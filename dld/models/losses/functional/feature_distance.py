"""Distances between student and teacher features (maps or sequences)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .reduction import check_reduction, reduce_samples

MODES = ('l2', 'l1', 'smooth_l1')


def feature_distance_loss(student: Tensor,
                          teacher: Tensor,
                          mask: Optional[Tensor] = None,
                          mode: str = 'l2',
                          reduction: str = 'mean',
                          beta: float = 1.0) -> Tensor:
    """Element-wise distance averaged per sample over valid positions.

    ``'l2'`` is the mean squared error (``F.mse_loss`` when no mask), ``'l1'``
    the mean absolute error, ``'smooth_l1'`` the Huber-like loss with
    threshold ``beta``. The teacher is a target (detached).

    Args:
        student: ``(B, C, H, W)`` feature map or ``(B, T, D)`` sequence.
        teacher: same shape (adapt channels/size with a connector first).
        mask: optional bool, True = valid: ``(B, T)`` for sequences,
            ``(B, H, W)`` for maps. Each sample is averaged over its valid
            positions times the feature size.
        mode: ``'l2'``, ``'l1'`` or ``'smooth_l1'``.
        reduction: ``'none'`` -> ``(B,)``; ``'mean'`` over samples with a valid
            position; ``'sum'``.
        beta: ``smooth_l1`` threshold.
    """
    check_reduction(reduction)
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if student.shape != teacher.shape:
        raise ValueError(
            f'student features {tuple(student.shape)} and teacher features '
            f'{tuple(teacher.shape)} differ; adapt them with FeatureMapConnector '
            'or SequenceConnector first.')
    if student.dim() not in (3, 4):
        raise ValueError(f'features must be (B, C, H, W) or (B, T, D), got {tuple(student.shape)}')
    teacher = teacher.detach()
    if mode == 'l2':
        dist = F.mse_loss(student, teacher, reduction='none')
    elif mode == 'l1':
        dist = F.l1_loss(student, teacher, reduction='none')
    else:
        dist = F.smooth_l1_loss(student, teacher, reduction='none', beta=beta)

    batch = student.shape[0]
    # flatten(1), not reshape(batch, -1): an empty batch has no -1 to infer
    if mask is None:
        flat = dist.flatten(1)
        # features of no position (a sequence of length 0): no valid one, as
        # a mask would say, where the mean of nothing was NaN
        per_sample = flat.sum(dim=1) / max(flat.shape[1], 1)
        return reduce_samples(per_sample, torch.full_like(per_sample, flat.shape[1] > 0,
                                                          dtype=torch.bool), reduction)

    # positions axes: (T,) for (B, T, D), (H, W) for (B, C, H, W)
    positions = student.shape[1:2] if student.dim() == 3 else student.shape[2:]
    if tuple(mask.shape) != (batch, *positions):
        raise ValueError(f'mask must be {(batch, *positions)} for features of shape '
                         f'{tuple(student.shape)}, got {tuple(mask.shape)}')
    mask = mask.to(device=dist.device, dtype=torch.bool)
    feat_mask = mask.unsqueeze(-1) if student.dim() == 3 else mask.unsqueeze(1)
    feat_size = student.shape[2] if student.dim() == 3 else student.shape[1]
    dist = dist.where(feat_mask, dist.new_zeros(()))
    n_valid = mask.flatten(1).sum(dim=1)
    per_sample = dist.flatten(1).sum(dim=1) / (n_valid * feat_size).clamp(min=1)
    return reduce_samples(per_sample, n_valid > 0, reduction)
