"""Registered module around :func:`dml_loss`."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from dld.registry import MODELS

from .functional import dml_loss
from .functional.reduction import check_reduction


@MODELS.register_module()
class DMLLoss(nn.Module):
    """``loss_weight * dml_loss(...)``: symmetric KL per step.

    Nothing is detached, so both inputs receive gradient: use it between two
    students that learn from each other, or with a frozen teacher (whose
    parameters do not require grad) like a symmetric :class:`KLDivLoss`.

    Args:
        temperature: softmax temperature ``T`` (the loss is scaled by ``T ** 2``).
        loss_weight: multiplier of the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``(B,)``); ``forward``'s
            ``reduction_override`` replaces it for one call.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.reduction = check_reduction(reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                mask: Optional[Tensor] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """``(B, L, K), (B, L, K), (B, L) bool -> scalar or (B,)``."""
        reduction = check_reduction(reduction_override or self.reduction)
        return self.loss_weight * dml_loss(student_logits, teacher_logits, mask,
                                           self.temperature, reduction)

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}')
