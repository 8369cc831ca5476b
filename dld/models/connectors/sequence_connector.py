"""Adapts a student feature sequence to the teacher's width and length."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from dld.registry import MODELS
from dld.utils.flags import check_flag

from .content_resize import resize_content_steps
from .identity_init import check_connector_init, init_identity


@MODELS.register_module()
class SequenceConnector(nn.Module):
    """Linear projection then linear interpolation along time.

    A student at a lower scale has fewer time steps (``T = W'``) than the
    teacher; interpolating makes step ``t`` of both cover the same part of
    the plate.

    Args:
        in_dim: student feature size ``Ds``.
        out_dim: teacher feature size ``Dt``.
        learned: use a learned ``nn.Linear``; with False the sizes must match.
        init: how the learned layer starts, ``'random'`` or ``'identity'``
            (equal sizes only; see :class:`FeatureMapConnector`).
    """

    def __init__(self, in_dim: int, out_dim: int, learned: bool = True,
                 init: str = 'random') -> None:
        super().__init__()
        learned = check_flag(learned, 'SequenceConnector.learned')
        check_connector_init(init, learned, in_dim, out_dim, 'SequenceConnector')
        if not learned and in_dim != out_dim:
            raise ValueError(f'SequenceConnector(learned=False) cannot map {in_dim} '
                             f'to {out_dim} features; set learned=True.')
        self.in_dim = in_dim
        self.out_dim = out_dim
        self.proj = nn.Linear(in_dim, out_dim) if learned else nn.Identity()
        if learned and init == 'identity':
            init_identity(self.proj.weight, self.proj.bias)

    def forward(self, x: Tensor, length: Optional[int] = None,
                content_ratio: Optional[Tensor] = None) -> Tensor:
        """``(B, T, Ds)`` -> ``(B, T', Dt)`` with ``T' = length`` (None keeps ``T``);
        ``content_ratio`` ``(B,)``: the share of each sequence's steps that the
        teacher's whole sequence covers (:func:`resize_content_steps`; None for
        decoding steps, which are characters, not places)."""
        if x.dim() != 3 or x.shape[-1] != self.in_dim:
            raise ValueError(f'expected (B, T, {self.in_dim}), got {tuple(x.shape)}')
        x = self.proj(x)
        return resize_content_steps(x, x.shape[1] if length is None else length, content_ratio)
