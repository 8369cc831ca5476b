"""Feature distillation by direction: one minus the cosine similarity."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dld.models.losses.functional import reduce_samples
from dld.models.losses.functional.reduction import check_reduction
from dld.registry import MODELS


@MODELS.register_module()
class CosineFeatureLoss(nn.Module):
    """``loss_weight * (1 - cos(student, teacher))`` per feature position.

    DLD's ``FeatureDistanceLoss`` (L2) also asks the student's features to
    match the teacher's magnitudes; a much narrower student spends part of
    its connector on that. This loss compares directions only. It takes
    the place of ``losses.feature`` in the distiller, so it keeps that
    role's call: ``(student, teacher, mask=None, reduction_override=None)``,
    with ``reduction='none'`` giving one value per sample.

    Args:
        loss_weight (float): multiplier of the loss.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (``(B,)``).
        eps (float): keeps the cosine finite on all-zero features.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean',
                 eps: float = 1e-8) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction(reduction)
        self.eps = eps

    def forward(self, student: Tensor, teacher: Tensor, mask: Optional[Tensor] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """``(B, C, H, W)`` maps (cosine over C) or ``(B, T, D)`` sequences
        (over D); ``mask``: bool, True on the positions that count,
        ``(B, H, W)`` or ``(B, T)``."""
        reduction = check_reduction(reduction_override or self.reduction)
        if student.shape != teacher.shape or student.dim() not in (3, 4):
            raise ValueError('CosineFeatureLoss: expected two (B, C, H, W) maps or two '
                             f'(B, T, D) sequences of one shape, got {tuple(student.shape)} '
                             f'and {tuple(teacher.shape)}.')
        # Half-precision features (autocast) would round the cosine away.
        student, teacher = student.float(), teacher.detach().float()
        channel_dim = 1 if student.dim() == 4 else 2
        dist = 1 - F.cosine_similarity(student, teacher, dim=channel_dim, eps=self.eps)
        if mask is None:
            mask = torch.ones_like(dist, dtype=torch.bool)
        elif tuple(mask.shape) != tuple(dist.shape):
            raise ValueError(f'CosineFeatureLoss: mask must be {tuple(dist.shape)}, '
                             f'got {tuple(mask.shape)}.')
        mask = mask.to(device=dist.device, dtype=torch.bool).flatten(1)
        n_valid = mask.sum(dim=1)
        dist = dist.flatten(1).where(mask, dist.new_zeros(()))
        per_sample = dist.sum(dim=1) / n_valid.clamp(min=1)
        return self.loss_weight * reduce_samples(per_sample, n_valid > 0, reduction)
