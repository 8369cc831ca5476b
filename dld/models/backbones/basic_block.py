"""The ResNet basic block with an anisotropic (h, w) stride."""
from typing import Tuple

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual shortcut.

    The stride is an ``(h, w)`` pair because plates are wide: the backbone
    shrinks height faster than width so the width axis keeps enough columns
    to become the sequence.

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, ceil(H/sh), ceil(W/sw))``.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 stride: Tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        stride = tuple(stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        # The projection keeps the shortcut aligned with the 3x3 branch, whose
        # padding of 1 gives ceil(H / s): a strided 1x1 conv, computed as the
        # strided rows and columns through a stride-1 1x1 conv. Same numbers,
        # FLOPs and state dict, but it keeps off oneDNN's strided 1x1 backward
        # on channels-last input, which crashes (segfault) on AVX-512 CPUs
        # (torch 2.13, oneDNN 3.12) at even input sizes.
        self.shortcut_stride = stride
        if stride != (1, 1) or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, 1, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sh, sw = self.shortcut_stride
        return self.relu(out + self.shortcut(x[:, :, ::sh, ::sw]))
