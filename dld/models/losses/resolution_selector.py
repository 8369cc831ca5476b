"""Registered module around :func:`resolution_selector_loss`."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch.nn as nn
from torch import Tensor

from dld.registry import MODELS
from dld.utils.flags import check_flag

from .functional import resolution_selector_loss
from .functional.reduction import check_reduction
from .functional.weights import check_weight


@MODELS.register_module()
class ResolutionSelectorLoss(nn.Module):
    """``loss_weight * (sum_i h_i S_i + gamma * sum_i h_i T_i / T_teacher)``.

    Args:
        gamma: weight of the FLOPs term (larger = smaller scales).
        loss_weight: multiplier of the loss (and of both parts).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``(B,)``); ``forward``'s
            ``reduction_override`` replaces it for one call.
        flops_on_uncomputed: keep the FLOPs term for scales not computed
            this step (default: they contribute 0, as their score does), for
            a caller that passes ``computed_mask``. ``DLDDistiller`` passes
            none: it scores every scale (``estimate_unread_scores``) and
            refuses this option.
    """

    def __init__(self, gamma: float = 0.1, loss_weight: float = 1.0, reduction: str = 'mean',
                 flops_on_uncomputed: bool = False) -> None:
        super().__init__()
        self.gamma = check_weight(gamma, 'gamma')
        self.loss_weight = check_weight(loss_weight)
        self.reduction = check_reduction(reduction)
        self.flops_on_uncomputed = check_flag(flops_on_uncomputed,
                                              'ResolutionSelectorLoss.flops_on_uncomputed')

    def forward(
        self,
        decisions: Tensor,
        score_per_scale: Tensor,
        relative_flops: Union[Tensor, Sequence[float]],
        computed_mask: Optional[Tensor] = None,
        return_parts: bool = False,
        reduction_override: Optional[str] = None,
    ) -> Union[Tensor, Tuple[Tensor, Dict[str, Tensor]]]:
        """``(B, k), (B, k), (k,), (B, k) bool -> loss`` or ``(loss, dict(score, flops))``.

        The parts are weighted by ``loss_weight`` too, so they sum to the loss.
        """
        loss, parts = resolution_selector_loss(
            decisions, score_per_scale, relative_flops, self.gamma, computed_mask,
            reduction=check_reduction(reduction_override or self.reduction), return_parts=True,
            flops_on_uncomputed=self.flops_on_uncomputed)
        loss = self.loss_weight * loss
        if return_parts:
            return loss, {k: self.loss_weight * v for k, v in parts.items()}
        return loss

    def extra_repr(self) -> str:
        return (f'gamma={self.gamma}, loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}')
