"""Registered module around :func:`dkd_loss`."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from dld.registry import MODELS

from .functional import dkd_loss
from .functional.reduction import check_reduction
from .functional.weights import check_temperature, check_weight


@MODELS.register_module()
class DKDLoss(nn.Module):
    """``loss_weight * dkd_loss(...)``: decoupled KD at every time step.

    Args:
        alpha: weight of target-class KD (TCKD).
        beta: weight of non-target-class KD (NCKD).
        temperature: softmax temperature ``T`` (the loss is scaled by ``T ** 2``).
        loss_weight: multiplier of the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``(B,)``); ``forward``'s
            ``reduction_override`` replaces it for one call.

    ``needs_target`` tells a distiller to pass ``target`` (``(B, L)`` class
    indices, e.g. the teacher's argmax or the ground truth).
    """

    needs_target = True

    def __init__(self, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0,
                 loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        # negative, a term rewards the student for leaving the teacher
        self.alpha = check_weight(alpha, 'alpha')
        self.beta = check_weight(beta, 'beta')
        self.temperature = check_temperature(temperature)
        self.loss_weight = check_weight(loss_weight)
        self.reduction = check_reduction(reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor,
                mask: Optional[Tensor] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """``(B, L, K), (B, L, K), (B, L) long, (B, L) bool -> scalar or (B,)``."""
        reduction = check_reduction(reduction_override or self.reduction)
        return self.loss_weight * dkd_loss(student_logits, teacher_logits, target, mask,
                                           self.alpha, self.beta, self.temperature,
                                           reduction)

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, beta={self.beta}, temperature={self.temperature}, '
                f'loss_weight={self.loss_weight}, reduction={self.reduction!r}')
