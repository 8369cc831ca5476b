"""Resizing a batch to one of the student's scales.

The size of scale ``s`` is :func:`dld.utils.flops.scale_input_shapes`'s
``(round(s * H), round(s * W))``, so the student's FLOPs measured per scale
are those of the input it reads. The resize itself is not counted (an
antialiased bilinear resize, about 0.02 % of a reading at 0.8x: docs/reports.md).
"""
from typing import Optional, Tuple

import torch.nn.functional as F
from torch import Tensor

from dld.utils.flops import scale_input_shapes


def resize_to_scale(x: Tensor, scale: float, base_hw: Optional[Tuple[int, int]] = None) -> Tensor:
    """Antialiased bilinear resize of ``x`` to scale ``scale`` of ``base_hw``.

    Args:
        x: ``(B, C, H, W)`` float batch (already normalised).
        scale: factor of ``base_hw``; 1.0 with ``base_hw=None`` returns ``x``.
        base_hw: ``(H0, W0)`` that scale 1.0 means; None = ``x``'s own size.

    Returns:
        ``(B, C, round(scale * H0), round(scale * W0))``; ``x`` itself when
        that is already its size. Antialiasing low-pass filters before
        subsampling, which imitates a camera's lower resolution better than
        plain bilinear sampling (which aliases below 0.5x).
    """
    if x.dim() != 4:
        raise ValueError(f'resize_to_scale expects (B, C, H, W), got {tuple(x.shape)}')
    if scale <= 0:
        raise ValueError(f'scale must be > 0, got {scale}')
    base_hw = tuple(x.shape[-2:]) if base_hw is None else tuple(base_hw)
    size = scale_input_shapes(base_hw, [scale])[0]
    if size == tuple(x.shape[-2:]):
        return x
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False, antialias=True)
