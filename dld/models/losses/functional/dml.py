"""Deep Mutual Learning: symmetric KL between two per-step distributions."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from .kl_div import kl_per_step
from .reduction import check_reduction, reduce_samples
from .step_mask import average_valid_steps, prepare_logit_pair


def dml_loss(student_logits: Tensor,
             teacher_logits: Tensor,
             mask: Optional[Tensor] = None,
             temperature: float = 1.0,
             reduction: str = 'mean') -> Tensor:
    """``0.5 * (KL(t || s) + KL(s || t))`` per step (Zhang et al., 2018).

    Same contract as :func:`kl_div_loss` (shapes, mask, ``T ** 2`` factor,
    reductions), but nothing is detached: **both** inputs receive gradient,
    so it serves two students learning from each other. With a frozen
    teacher (``requires_grad=False``) only the student learns.

    Args:
        student_logits: ``(B, L, K)`` (``(B, K)`` is read as ``L = 1``).
        teacher_logits: ``(B, L, K)``, the other side.
        mask: ``(B, L)`` bool, True = valid step.
        temperature: softmax temperature ``T > 0``.
        reduction: ``'none'`` -> ``(B,)``, ``'mean'``, ``'sum'``.
    """
    check_reduction(reduction)
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    student, teacher, mask = prepare_logit_pair(student_logits, teacher_logits, mask)
    log_ps = F.log_softmax(student / temperature, dim=-1)
    log_pt = F.log_softmax(teacher / temperature, dim=-1)
    per_step = 0.5 * (kl_per_step(log_pt, log_ps) + kl_per_step(log_ps, log_pt))
    per_sample, valid = average_valid_steps(per_step, mask)
    return reduce_samples(per_sample * temperature**2, valid, reduction)
