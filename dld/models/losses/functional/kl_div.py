"""Hinton's KL distillation between per-step class distributions."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .reduction import check_reduction, reduce_samples
from .step_mask import average_valid_steps, prepare_logit_pair


def kl_per_step(log_p: Tensor, log_q: Tensor) -> Tensor:
    """``KL(p || q)`` summed over the last axis, from log-probabilities.

    ``(..., K), (..., K) -> (...)``; ``p = 0`` (``log_p = -inf``, a masked
    class) contributes 0, as in the definition, where the log-target form
    alone would give ``0 * -inf = nan``. Its gradient is 0 too, towards both
    sides: ``log_p`` is filled before the terms are formed, since the
    gradient of ``exp(t) * (t - i)`` in ``t`` is NaN at ``t = -inf`` however
    the value is masked afterwards (DML trains ``p``'s side as well).
    """
    absent = log_p == float('-inf')
    log_p = log_p.masked_fill(absent, 0.0)
    terms = F.kl_div(log_q, log_p, reduction='none', log_target=True)
    return torch.where(absent, terms.new_zeros(()), terms).sum(dim=-1)


def kl_div_loss(student_logits: Tensor,
                teacher_logits: Tensor,
                mask: Optional[Tensor] = None,
                temperature: float = 1.0,
                reduction: str = 'mean') -> Tensor:
    """KL(teacher || student) of temperature-softened per-step distributions.

    At each step ``l``: ``sum_k p_t log(p_t / p_s)`` with
    ``p = softmax(logits / T)``; averaged over the valid steps of each sample
    and multiplied by ``T ** 2`` so that gradients keep their size when ``T``
    changes (Hinton et al., 2015).

    The teacher is a target: no gradient flows into ``teacher_logits``. Use
    :func:`dml_loss` when both sides should learn.

    Args:
        student_logits: ``(B, L, K)`` (``(B, K)`` is read as ``L = 1``).
        teacher_logits: ``(B, L, K)``, same shape.
        mask: ``(B, L)`` bool, True = valid step; padded steps may hold
            anything and change neither the value nor the gradients.
        temperature: softmax temperature ``T > 0``.
        reduction: ``'none'`` -> ``(B,)``; ``'mean'`` -> mean over samples
            with at least one valid step; ``'sum'``.
    """
    check_reduction(reduction)
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    student, teacher, mask = prepare_logit_pair(student_logits, teacher_logits, mask)
    log_ps = F.log_softmax(student / temperature, dim=-1)
    log_pt = F.log_softmax(teacher.detach() / temperature, dim=-1)
    per_sample, valid = average_valid_steps(kl_per_step(log_pt, log_ps), mask)
    return reduce_samples(per_sample * temperature**2, valid, reduction)
