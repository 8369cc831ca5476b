"""Registered module around :func:`sequence_kd_loss`."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from dld.registry import MODELS

from .functional import sequence_kd_loss
from .functional.reduction import check_reduction
from .functional.sequence_kd import WEIGHTINGS
from .functional.weights import check_weight


@MODELS.register_module()
class SequenceKDLoss(nn.Module):
    """``loss_weight * sequence_kd_loss(...)``: student NLL of teacher beams.

    Args:
        weighting: ``'score'`` (teacher's renormalised sequence probability),
            ``'uniform'`` or ``'top1'``.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``(B,)``); ``forward``'s
            ``reduction_override`` replaces it for one call.
    """

    def __init__(self, weighting: str = 'score', loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if weighting not in WEIGHTINGS:
            raise ValueError(f'weighting must be one of {WEIGHTINGS}, got {weighting!r}')
        self.weighting = weighting
        self.loss_weight = check_weight(loss_weight)
        self.reduction = check_reduction(reduction)

    def forward(self, nll: Tensor, beam_scores: Tensor,
                reduction_override: Optional[str] = None) -> Tensor:
        """``(B, k) nll, (B, k) teacher log-probs (-inf = no beam) -> scalar or (B,)``."""
        reduction = check_reduction(reduction_override or self.reduction)
        return self.loss_weight * sequence_kd_loss(nll, beam_scores, self.weighting,
                                                   reduction)

    def extra_repr(self) -> str:
        return (f'weighting={self.weighting!r}, loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}')
