"""Decoupled Knowledge Distillation (Zhao et al., CVPR 2022), per time step."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .kl_div import kl_per_step
from .reduction import check_reduction, reduce_samples
from .step_mask import average_valid_steps, prepare_logit_pair


def dkd_loss(student_logits: Tensor,
             teacher_logits: Tensor,
             target: Tensor,
             mask: Optional[Tensor] = None,
             alpha: float = 1.0,
             beta: float = 8.0,
             temperature: float = 4.0,
             reduction: str = 'mean') -> Tensor:
    """``alpha * TCKD + beta * NCKD`` at each step, times ``T ** 2``.

    * TCKD: KL(teacher || student) of the binary distribution
      ``[p(target), 1 - p(target)]`` of the softened per-step softmax.
    * NCKD: KL(teacher || student) of the distribution over the non-target
      classes: the softmax with the target class left out (its logit -inf;
      :func:`kl_per_step` counts a class of probability 0 as 0). A finite
      amount taken off it (1000 after dividing by T) left the target in
      where it led by more, at a small T or a large logit gap: the loss was
      0 for 0.003 at T=1e-3, 3.05 for 4.30 at a gap of 4000.

    Per-step losses are averaged over the valid steps of each sample. The
    teacher is a target (detached).

    Args:
        student_logits: ``(B, L, K)`` with ``K >= 2`` (``(B, K)`` = ``L = 1``).
        teacher_logits: ``(B, L, K)``.
        target: ``(B, L)`` long class index of each step; values at padded
            steps are ignored (may be -1 or any padding index).
        mask: ``(B, L)`` bool, True = valid step.
        alpha: weight of TCKD.
        beta: weight of NCKD.
        temperature: softmax temperature ``T > 0``.
        reduction: ``'none'`` -> ``(B,)``, ``'mean'`` (over samples with a
            valid step), ``'sum'``.
    """
    check_reduction(reduction)
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    if target.dim() == 1 and student_logits.dim() == 2:
        target = target.unsqueeze(1)
    student, teacher, mask = prepare_logit_pair(student_logits, teacher_logits, mask)
    num_classes = student.shape[-1]
    if num_classes < 2:
        raise ValueError('dkd_loss needs at least 2 classes')
    if tuple(target.shape) != tuple(student.shape[:2]):
        raise ValueError(f'target must be (B, L) = {tuple(student.shape[:2])}, '
                         f'got {tuple(target.shape)}')
    target = target.long().where(mask, target.new_zeros((), dtype=torch.long))
    if bool(((target < 0) | (target >= num_classes)).any()):
        raise ValueError(f'target indices at valid steps must lie in [0, {num_classes})')
    is_target = F.one_hot(target, num_classes).bool()  # (B, L, K)

    s = student / temperature
    t = teacher.detach() / temperature
    log_ps = F.log_softmax(s, dim=-1)
    log_pt = F.log_softmax(t, dim=-1)
    tckd = kl_per_step(_binary_log_probs(log_pt, is_target),
                       _binary_log_probs(log_ps, is_target))
    nckd = kl_per_step(F.log_softmax(t.masked_fill(is_target, float('-inf')), dim=-1),
                       F.log_softmax(s.masked_fill(is_target, float('-inf')), dim=-1))

    per_step = (alpha * tckd + beta * nckd) * temperature**2
    per_sample, valid = average_valid_steps(per_step, mask)
    return reduce_samples(per_sample, valid, reduction)


def _binary_log_probs(log_p: Tensor, is_target: Tensor) -> Tensor:
    """``(B, L, K)`` log-probabilities -> ``(B, L, 2)`` ``[log p_t, log(1 - p_t)]``.

    ``log(1 - p_t)`` is a logsumexp over the other classes, which stays
    accurate when ``p_t`` is close to 1.
    """
    neg_inf = log_p.new_tensor(float('-inf'))
    log_target = log_p.where(is_target, neg_inf).logsumexp(dim=-1)
    log_other = log_p.where(~is_target, neg_inf).logsumexp(dim=-1)
    return torch.stack([log_target, log_other], dim=-1)
