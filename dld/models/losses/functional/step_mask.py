"""Checking and applying ``(B, L)`` step masks of sequence logits.

Padded steps of a sequence (CTC frames beyond a short image, attention steps
after ``<EOS>``) may hold anything, even ``inf`` or NaN. They are replaced by
zeros *before* any softmax, so that neither their values nor NaN gradients
(``0 * nan`` in a backward pass) reach the network.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .reduction import upcast_half


def prepare_logit_pair(student_logits: Tensor,
                       teacher_logits: Tensor,
                       mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Validate a pair of sequence logits and neutralise their padded steps.

    Args:
        student_logits: ``(B, L, K)``; ``(B, K)`` is read as ``L = 1``.
        teacher_logits: same shape as ``student_logits``.
        mask: ``(B, L)`` bool, True = valid step; None = all valid.

    Returns:
        ``(student, teacher, mask)``: logits as ``(B, L, K)`` in at least
        float32 (stable under mixed precision) with padded steps set to 0,
        and the ``(B, L)`` bool mask.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f'student logits {tuple(student_logits.shape)} and teacher logits '
            f'{tuple(teacher_logits.shape)} must have the same (B, L, K) shape; '
            'resample the time axis (SequenceConnector) or the class axis first (a decoder '
            'of your own whose logits are one distribution a frame, CTC-like, says '
            '`logits_per_frame = True`, and DLD aligns its frames to the teacher\'s).')
    if student_logits.dim() == 2:
        student_logits = student_logits.unsqueeze(1)
        teacher_logits = teacher_logits.unsqueeze(1)
        if mask is not None and mask.dim() == 1:
            mask = mask.unsqueeze(1)
    if student_logits.dim() != 3:
        raise ValueError('sequence logits must be (B, L, K) or (B, K), got '
                         f'{tuple(student_logits.shape)}')
    mask = check_step_mask(mask, student_logits.shape[:2], student_logits.device)
    return (neutralise_padding(upcast_half(student_logits), mask),
            neutralise_padding(upcast_half(teacher_logits), mask), mask)


def check_step_mask(mask: Optional[Tensor], batch_steps, device) -> Tensor:
    """Return ``mask`` as a ``(B, L)`` bool tensor (all True when None)."""
    batch_steps = tuple(batch_steps)
    if mask is None:
        return torch.ones(batch_steps, dtype=torch.bool, device=device)
    if tuple(mask.shape) != batch_steps:
        raise ValueError(f'mask must be (B, L) = {batch_steps}, got {tuple(mask.shape)}')
    return mask.to(device=device, dtype=torch.bool)


def neutralise_padding(x: Tensor, mask: Tensor) -> Tensor:
    """Zero ``x`` (``(B, L, ...)``) wherever ``mask`` (``(B, L)``) is False."""
    mask = mask.reshape(mask.shape + (1, ) * (x.dim() - mask.dim()))
    return x.where(mask, x.new_zeros(()))


def average_valid_steps(per_step: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
    """Average ``(B, L)`` per-step losses over the valid steps of each sample.

    Returns:
        ``(per_sample (B,), has_valid_step (B,) bool)``; a sample without a
        valid step gets 0.
    """
    per_step = per_step.where(mask, per_step.new_zeros(()))
    n_valid = mask.sum(dim=1)
    per_sample = per_step.sum(dim=1) / n_valid.clamp(min=1).to(per_step.dtype)
    return per_sample, n_valid > 0
