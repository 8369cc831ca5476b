"""Adapts a student feature map to the teacher's channels and size."""
from typing import Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from dld.registry import MODELS


@MODELS.register_module()
class FeatureMapConnector(nn.Module):
    """1x1 conv (+ optional BN) then bilinear resize to the teacher's size.

    The conv runs before the resize because the student map is usually the
    smaller one, so it is the cheaper place to project.

    Args:
        in_channels: student channels ``Cs``.
        out_channels: teacher channels ``Ct``.
        learned: use a learned 1x1 conv; with False the channels must match
            and the connector only resizes.
        with_bn: BatchNorm after the conv (learned only).
    """

    def __init__(self, in_channels: int, out_channels: int, learned: bool = True,
                 with_bn: bool = False) -> None:
        super().__init__()
        if not learned and in_channels != out_channels:
            raise ValueError(f'FeatureMapConnector(learned=False) cannot map {in_channels} '
                             f'to {out_channels} channels; set learned=True.')
        self.in_channels = in_channels
        self.out_channels = out_channels
        if learned:
            layers = [nn.Conv2d(in_channels, out_channels, 1, bias=not with_bn)]
            if with_bn:
                layers.append(nn.BatchNorm2d(out_channels))
            self.proj = nn.Sequential(*layers)
        else:
            self.proj = nn.Identity()

    def forward(self, x: Tensor, size: Optional[Tuple[int, int]] = None) -> Tensor:
        """``(B, Cs, h, w)`` -> ``(B, Ct, H, W)`` with ``(H, W) = size`` (None keeps ``(h, w)``)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'expected (B, {self.in_channels}, h, w), got {tuple(x.shape)}')
        x = self.proj(x)
        if size is not None and tuple(size) != tuple(x.shape[-2:]):
            x = F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
        return x
