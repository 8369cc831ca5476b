"""Registered module around :func:`feature_distance_loss`."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from dld.registry import MODELS

from .functional import feature_distance_loss
from .functional.feature_distance import MODES
from .functional.reduction import check_reduction
from .functional.weights import check_weight


@MODELS.register_module()
class FeatureDistanceLoss(nn.Module):
    """``loss_weight * feature_distance_loss(...)`` (teacher detached).

    Args:
        mode: ``'l2'`` (mean squared error), ``'l1'`` or ``'smooth_l1'``.
        loss_weight: multiplier of the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``(B,)``); ``forward``'s
            ``reduction_override`` replaces it for one call.
        beta: threshold of ``'smooth_l1'`` (>= 0; default 1.0, and 0 is
            ``'l1'``); other modes have none, and refuse it.
    """

    def __init__(self, mode: str = 'l2', loss_weight: float = 1.0, reduction: str = 'mean',
                 beta: Optional[float] = None) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if beta is not None and mode != 'smooth_l1':
            # it was not read, silently
            raise ValueError(f"beta is the threshold of mode='smooth_l1'; mode={mode!r} has "
                             'none: leave beta out')
        self.mode = mode
        self.loss_weight = check_weight(loss_weight)
        self.reduction = check_reduction(reduction)
        # a negative or a string one failed in the first step, in torch's smooth_l1_loss
        self.beta = 1.0 if beta is None else check_weight(beta, 'beta')

    def forward(self, student: Tensor, teacher: Tensor,
                mask: Optional[Tensor] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """``(B, C, H, W)`` or ``(B, T, D)`` pair, optional mask -> scalar or ``(B,)``."""
        reduction = check_reduction(reduction_override or self.reduction)
        return self.loss_weight * feature_distance_loss(student, teacher, mask, self.mode,
                                                        reduction, self.beta)

    def extra_repr(self) -> str:
        beta = f', beta={self.beta}' if self.mode == 'smooth_l1' else ''
        return (f'mode={self.mode!r}{beta}, loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}')
