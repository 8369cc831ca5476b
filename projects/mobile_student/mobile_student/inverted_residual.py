"""MobileNetV2's inverted residual block with an anisotropic (h, w) stride."""
from typing import Tuple

import torch
from torch import nn


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise conv, 1x1 linear projection.

    The 3x3 work happens per channel (depthwise), so a block costs about
    ``expand_ratio * (in + out + 9)`` multiply-adds per output position and
    channel pair instead of the basic block's ``9 * (in + out)``: the reason
    a student built of these is cheap. The stride sits on the depthwise conv,
    as an ``(h, w)`` pair because plates are wide (see DLD's ``BasicBlock``).
    The shortcut adds only when the block keeps size and width.

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, ceil(H/sh), ceil(W/sw))``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 stride: Tuple[int, int] = (1, 1), expand_ratio: int = 4) -> None:
        super().__init__()
        stride = tuple(stride)
        hidden = in_channels * expand_ratio
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False),
                       nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            # Linear bottleneck: no activation after the projection, which
            # would zero half of a narrow representation.
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels)]
        self.conv = nn.Sequential(*layers)
        self.use_shortcut = stride == (1, 1) and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_shortcut else out
