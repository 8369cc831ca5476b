"""The Dynamic Resolution Selector's objective (DLD, Chen et al., ECCV 2022)."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .reduction import check_reduction, reduce_samples, upcast_half


def resolution_selector_loss(
    decisions: Tensor,
    score_per_scale: Tensor,
    relative_flops: Union[Tensor, Sequence[float]],
    gamma: float,
    computed_mask: Optional[Tensor] = None,
    reduction: str = 'mean',
    return_parts: bool = False,
    flops_on_uncomputed: bool = False,
) -> Union[Tensor, Tuple[Tensor, Dict[str, Tensor]]]:
    """``sum_i h_i * S_i + gamma * sum_i h_i * T_i / T_teacher`` per sample.

    The first term penalises the accuracy lost at the chosen scale, scored
    per sample by ``S_i`` (the paper's KL(teacher || student at scale i), or
    another score such as a top-1 miss), the second rewards cheap scales.
    With straight-through decisions ``h`` is one-hot in the forward pass and
    gradients reach every scale's logit through the soft sample.

    Scales whose student pass did not run this step (``computed_mask``
    False) contribute 0 and their score may be NaN or garbage: it is replaced
    with ``torch.where`` (not multiplied by 0), so neither the value nor the
    gradient w.r.t. ``decisions`` or ``score_per_scale`` becomes NaN. Fill such
    entries with a constant, not with the output of a graph that produced
    NaN, because ``where`` cannot clean a NaN gradient *inside* that graph.

    Gradient also flows into ``score_per_scale`` (weighted by ``h``); pass
    ``score_per_scale.detach()`` to train only the selector with this loss.

    Args:
        decisions: ``(B, k)`` one-hot (straight-through) or soft decisions.
        score_per_scale: ``(B, k)`` per-sample loss of accuracy at scale i.
        relative_flops: ``(k,)`` ``T_i / T_teacher``.
        gamma: weight of the FLOPs term.
        computed_mask: ``(B, k)`` bool, True where scale ``i`` was computed
            for sample ``b``; None = all computed.
        reduction: ``'none'`` -> ``(B,)``, ``'mean'`` (over the batch), ``'sum'``.
        return_parts: also return ``dict(score=..., flops=...)``, both reduced
            like the loss and summing to it (``flops`` includes ``gamma``).
        flops_on_uncomputed: keep the FLOPs term for uncomputed scales (their
            cost is known even when their score is not).

    Returns:
        The loss, or ``(loss, parts)`` when ``return_parts``.
    """
    check_reduction(reduction)
    if decisions.shape != score_per_scale.shape or decisions.dim() != 2:
        raise ValueError(f'decisions {tuple(decisions.shape)} and score_per_scale '
                         f'{tuple(score_per_scale.shape)} must both be (B, k)')
    decisions = upcast_half(decisions)
    num_scales = decisions.shape[1]
    relative_flops = torch.as_tensor(relative_flops, dtype=decisions.dtype,
                                     device=decisions.device).detach()
    if relative_flops.shape != (num_scales, ):
        raise ValueError(f'relative_flops must be (k,) = ({num_scales},), '
                         f'got {tuple(relative_flops.shape)}')
    if computed_mask is None:
        computed_mask = torch.ones_like(decisions, dtype=torch.bool)
    elif computed_mask.shape != decisions.shape:
        raise ValueError(f'computed_mask must be (B, k) = {tuple(decisions.shape)}, '
                         f'got {tuple(computed_mask.shape)}')
    computed_mask = computed_mask.to(device=decisions.device, dtype=torch.bool)

    zero = decisions.new_zeros(())
    safe_score = score_per_scale.to(decisions.dtype).where(computed_mask, zero)
    score_term = (decisions * safe_score).sum(dim=1)
    flops = decisions * relative_flops
    if not flops_on_uncomputed:
        flops = flops.where(computed_mask, zero)
    flops_term = gamma * flops.sum(dim=1)

    valid = torch.ones_like(score_term, dtype=torch.bool)
    score_red = reduce_samples(score_term, valid, reduction)
    flops_red = reduce_samples(flops_term, valid, reduction)
    loss = score_red + flops_red
    if return_parts:
        return loss, dict(score=score_red, flops=flops_red)
    return loss
