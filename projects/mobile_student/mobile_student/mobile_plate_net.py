"""A MobileNetV2-style backbone for plate crops: a cheaper DLD student."""
from typing import Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from dld.registry import MODELS

from .inverted_residual import InvertedResidual


@MODELS.register_module()
class MobilePlateNet(BaseModule):
    """Stages of inverted residual blocks with per-stage ``(h, w)`` strides.

    Registered in DLD's ``MODELS``, so a config names it like any DLD
    backbone once ``custom_imports`` has imported this package. It keeps the
    contract a recognizer's backbone has (docs/customize.md): fully
    convolutional, so one set of weights reads every scale the selector may
    pick; ``out_channels`` for the encoder; plain ``nn.BatchNorm2d``
    layers, which the DLD student turns into per-scale statistics.

    With the default strides the total stride is ``(8, 4)``, as
    ``ResNetPlate``'s, so the student's sequence is as long as the
    teacher's and the feature connectors only change the width.

    Args:
        in_channels (int): 3 for BGR, 1 for gray.
        widths (Sequence[int]): channels of each stage.
        depths (Sequence[int]): blocks per stage.
        strides (Sequence[tuple[int, int]]): ``(h, w)`` stride of each
            stage's first block.
        expand_ratio (int): width of a block's depthwise conv over its input
            width.
        stem_channels (int): channels of the 3x3 stem conv (stride 1).
        channels_last (bool): run the convs on a channels-last copy of the
            input and return a contiguous map, as ``ResNetPlate`` does. Same
            arithmetic; oneDNN's channels-last depthwise kernels made this
            backbone about 1.9x faster on 2 CPU cores (batch 64, 48x144:
            0.49 s against 0.91 s, projects/mobile_student/README.md).
        init_cfg (dict | list | None): MMEngine weight init.

    Shapes: ``(B, in_channels, H, W) -> (B, widths[-1], H', W')`` with
    ``H' = ceil(H / prod(sh))`` and ``W' = ceil(W / prod(sw))``.
    """

    def __init__(self,
                 in_channels: int = 3,
                 widths: Sequence[int] = (24, 48, 96, 128),
                 depths: Sequence[int] = (1, 2, 2, 1),
                 strides: Sequence[Tuple[int, int]] = ((2, 2), (2, 2), (2, 1), (1, 1)),
                 expand_ratio: int = 4,
                 stem_channels: int = 16,
                 channels_last: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not (len(widths) == len(depths) == len(strides)):
            raise ValueError(
                'MobilePlateNet: `widths`, `depths` and `strides` need one entry per '
                f'stage, got {len(widths)}, {len(depths)} and {len(strides)}.')
        for s in strides:
            if not isinstance(s, (tuple, list)) or len(s) != 2:
                raise ValueError(f'MobilePlateNet: each stride is an (h, w) pair, got {s!r}.')
        if any(d < 1 for d in depths):
            raise ValueError(f'MobilePlateNet: every depth must be >= 1, got {tuple(depths)}.')
        self.in_channels = in_channels
        self.out_channels = widths[-1]
        self.channels_last = channels_last
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem_channels), nn.ReLU6(inplace=True))
        blocks = []
        c_in = stem_channels
        for width, depth, stride in zip(widths, depths, strides):
            for i in range(depth):
                blocks.append(InvertedResidual(c_in, width, stride if i == 0 else (1, 1),
                                               expand_ratio))
                c_in = width
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, C_out, H', W')``, contiguous."""
        if not self.channels_last:
            return self.blocks(self.stem(x))
        x = x.contiguous(memory_format=torch.channels_last)
        return self.blocks(self.stem(x)).contiguous()
