"""The base of the per-step logit losses that take a temperature and a weight."""
from typing import Callable, Optional

import torch.nn as nn
from torch import Tensor

from .functional.reduction import check_reduction
from .functional.weights import check_temperature, check_weight


class TemperatureLogitLoss(nn.Module):
    """``loss_weight * loss_fn(student, teacher, mask, temperature, reduction)``.

    :class:`KLDivLoss` and :class:`DMLLoss` differ only in ``loss_fn``; this
    holds what they share, so a new logit loss of that signature is one line.

    Args:
        temperature: softmax temperature ``T`` (the loss is scaled by ``T ** 2``).
        loss_weight: multiplier of the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``(B,)`` per sample,
            for callers that weight samples themselves); ``forward``'s
            ``reduction_override`` replaces it for one call.
    """

    loss_fn: Callable[..., Tensor]

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)
        self.loss_weight = check_weight(loss_weight)
        self.reduction = check_reduction(reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                mask: Optional[Tensor] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """``(B, L, K), (B, L, K), (B, L) bool -> scalar or (B,)``."""
        reduction = check_reduction(reduction_override or self.reduction)
        return self.loss_weight * self.loss_fn(student_logits, teacher_logits, mask,
                                               self.temperature, reduction)

    def extra_repr(self) -> str:
        return (f'temperature={self.temperature}, loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}')
