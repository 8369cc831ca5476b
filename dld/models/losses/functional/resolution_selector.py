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


def estimate_unread_scores(score_per_scale: Tensor, computed_mask: Tensor,
                           chosen: Tensor) -> Tensor:
    """Scores for every scale from the scales read, unbiased for the selector.

    With ``scale_strategy='sampled'`` the student reads each image at its
    chosen scale ``c`` and at ``m`` others drawn uniformly from the ``k - 1``
    left. Scoring the scales not read as 0 (or leaving them out) biases the
    straight-through gradient: a scale not read looks perfect, so the
    selector drifts towards scales it rarely sees, away from the best one.

    The straight-through gradient is linear in the scores, and a softmax's
    gradient does not change when every score moves by the same amount. So
    with ``s_c`` as that common shift (a baseline): a scale not read gets
    ``s_c``, a scale read besides ``c`` gets ``s_c + (k - 1) / m * (s_i - s_c)``
    (``(k - 1) / m`` being 1 over its chance to be read). In expectation over
    the draw this is the gradient of reading every scale, the paper's
    setting; the forward value at the chosen scale is ``s_c`` itself. Where
    every scale was read the scores are returned unchanged.

    Args:
        score_per_scale: ``(B, k)``; entries not read may hold anything (NaN).
        computed_mask: ``(B, k)`` bool, True where the scale was read; the
            chosen scale must be among them.
        chosen: ``(B,)`` index of each image's chosen scale.

    Returns:
        ``(B, k)`` scores, finite where the read ones are.
    """
    if score_per_scale.shape != computed_mask.shape or score_per_scale.dim() != 2:
        raise ValueError(f'score_per_scale {tuple(score_per_scale.shape)} and computed_mask '
                         f'{tuple(computed_mask.shape)} must both be (B, k)')
    computed_mask = computed_mask.to(dtype=torch.bool)
    if bool(computed_mask.all()):
        return score_per_scale
    rows = torch.arange(score_per_scale.shape[0], device=score_per_scale.device)
    if not bool(computed_mask[rows, chosen].all()):
        raise ValueError('the chosen scale of every image must be among the scales read')
    num_scales = score_per_scale.shape[1]
    base = score_per_scale[rows, chosen].unsqueeze(1)
    others = computed_mask.clone()
    others[rows, chosen] = False
    num_others = others.sum(dim=1, keepdim=True)
    weight = (num_scales - 1) / num_others.clamp(min=1).to(score_per_scale.dtype)
    read = score_per_scale.where(others, base)  # NaN of unread entries never enters
    return base + weight * (read - base)
