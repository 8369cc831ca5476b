"""A small, fully convolutional ResNet for plate crops of any scale."""
from typing import Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from dld.registry import MODELS

from .basic_block import BasicBlock


@MODELS.register_module()
class ResNetPlate(BaseModule):
    """ResNet of basic blocks with per-stage ``(h, w)`` strides.

    Fully convolutional (no pooling to a fixed size), so the same weights read
    every scale from 0.3x to 1.0x of 48x144: the default total stride is
    (8, 4), giving ``(B, 256, 6, 36)`` at 48x144 and ``(B, 256, 2, 11)`` at
    14x43. The sequence length ``T = W'`` therefore follows the input width,
    which is what lets CTC read a low-resolution crop.

    Args:
        in_channels (int): 3 for BGR, 1 for gray.
        widths (Sequence[int]): channels of each stage.
        depths (Sequence[int]): basic blocks per stage.
        strides (Sequence[tuple[int, int]]): ``(h, w)`` stride of each stage's
            first block.
        stem_channels (int | None): channels of the 3x3 stem conv (stride 1);
            defaults to ``widths[0]``.
        channels_last (bool): run the convs on a channels-last copy of the
            input and return a contiguous map. Same arithmetic, faster kernels:
            oneDNN's channels-last convolutions made the backbone's training
            step about 1.15x and its inference 1.2x to 1.5x faster on 2 AVX2
            CPU cores, 1.17x and up to 1.2x on 2 AVX-512 ones (docs/results.md,
            benchmarks/channels_last.py); cuDNN prefers the layout
            too. The weights keep their layout, so checkpoints are unchanged.
        init_cfg (dict | list | None): MMEngine weight init.

    Shapes: ``(B, in_channels, H, W) -> (B, widths[-1], H', W')`` with
    ``H' = ceil(H / prod(sh))`` and ``W' = ceil(W / prod(sw))``.
    """

    def __init__(self,
                 in_channels: int = 3,
                 widths: Sequence[int] = (32, 64, 128, 256),
                 depths: Sequence[int] = (1, 1, 1, 1),
                 strides: Sequence[Tuple[int, int]] = ((2, 2), (2, 2), (2, 1), (1, 1)),
                 stem_channels: int = None,
                 channels_last: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not (len(widths) == len(depths) == len(strides)):
            raise ValueError(
                'ResNetPlate: `widths`, `depths` and `strides` need one entry per '
                f'stage, got {len(widths)}, {len(depths)} and {len(strides)}.')
        for s in strides:
            if not isinstance(s, (tuple, list)) or len(s) != 2:
                raise ValueError(f'ResNetPlate: each stride is an (h, w) pair, got {s!r}.')
        if any(d < 1 for d in depths):
            raise ValueError(f'ResNetPlate: every depth must be >= 1, got {tuple(depths)}.')
        stem_channels = stem_channels or widths[0]
        self.in_channels = in_channels
        self.channels_last = channels_last
        self.out_channels = widths[-1]
        self.strides = tuple(tuple(s) for s in strides)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem_channels), nn.ReLU(inplace=True))
        stages = []
        c_in = stem_channels
        for width, depth, stride in zip(widths, depths, self.strides):
            blocks = [BasicBlock(c_in, width, stride)]
            blocks += [BasicBlock(width, width) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = width
        self.stages = nn.Sequential(*stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, C_out, H', W')``, contiguous."""
        if not self.channels_last:
            return self.stages(self.stem(x))
        x = x.contiguous(memory_format=torch.channels_last)
        return self.stages(self.stem(x)).contiguous()
