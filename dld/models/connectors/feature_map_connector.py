"""Adapts a student feature map to the teacher's channels and size."""
from typing import Optional, Tuple

import torch.nn as nn
from torch import Tensor

from dld.registry import MODELS
from dld.utils.flags import check_flag

from .content_resize import resize_content
from .identity_init import check_connector_init, init_identity


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
        init: how the learned conv starts: ``'random'`` (PyTorch's
            default, the published runs') or ``'identity'`` (equal widths
            only: a student copied from its teacher then starts at a
            feature distance of 0 from it, see :func:`init_identity`).
    """

    def __init__(self, in_channels: int, out_channels: int, learned: bool = True,
                 with_bn: bool = False, init: str = 'random') -> None:
        super().__init__()
        learned = check_flag(learned, 'FeatureMapConnector.learned')
        with_bn = check_flag(with_bn, 'FeatureMapConnector.with_bn')
        check_connector_init(init, learned, in_channels, out_channels, 'FeatureMapConnector')
        if not learned and in_channels != out_channels:
            raise ValueError(f'FeatureMapConnector(learned=False) cannot map {in_channels} '
                             f'to {out_channels} channels; set learned=True.')
        self.in_channels = in_channels
        self.out_channels = out_channels
        if learned:
            conv = nn.Conv2d(in_channels, out_channels, 1, bias=not with_bn)
            if init == 'identity':
                init_identity(conv.weight.view(out_channels, in_channels), conv.bias)
            layers = [conv]
            if with_bn:
                layers.append(nn.BatchNorm2d(out_channels))
            self.proj = nn.Sequential(*layers)
        else:
            self.proj = nn.Identity()

    def forward(self, x: Tensor, size: Optional[Tuple[int, int]] = None,
                content_ratio: Optional[Tensor] = None) -> Tensor:
        """``(B, Cs, h, w)`` -> ``(B, Ct, H, W)`` with ``(H, W) = size`` (None keeps
        ``(h, w)``); ``content_ratio`` ``(B,)``: the share of each map's width that
        the teacher's whole width shows (:func:`resize_content`)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'expected (B, {self.in_channels}, h, w), got {tuple(x.shape)}')
        x = self.proj(x)
        return resize_content(x, x.shape[-2:] if size is None else size, content_ratio)
