"""Dynamic Resolution Selector: picks one input scale per image."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from dld.models.losses.functional.reduction import upcast_half
from dld.registry import MODELS
from dld.utils.flags import check_flag


@MODELS.register_module()
class ResolutionSelector(nn.Module):
    """A tiny CNN on a fixed-size thumbnail that scores the candidate scales.

    The thumbnail is an area (average-pool) resize, counted as
    ``aten::adaptive_avg_pool2d``; every other op is a conv, BN, ReLU, mean
    or linear, so ``count_flops(selector, x)`` is its complete cost.

    Args:
        scales: candidate scale factors ``s_1..s_k`` of the base input.
        thumb_size: ``(h, w)`` of the thumbnail the CNN reads.
        in_channels: channels of the input images.
        channels: widths of the stride-2 ``conv3x3-BN-ReLU`` stages.
        tau: Gumbel-softmax temperature of training decisions (> 0); the
            configs' ``GumbelTemperatureHook`` sets it every iteration (its
            ``start`` and ``end`` are the temperatures to change), so this
            one is read only by runs without that hook.
        gumbel_at_test: add Gumbel noise in eval mode too (the public DLD
            code does; off by default so inference is deterministic).
    """

    def __init__(self,
                 scales: Sequence[float] = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3),
                 thumb_size: Tuple[int, int] = (16, 48),
                 in_channels: int = 3,
                 channels: Sequence[int] = (8, 16, 32),
                 tau: float = 1.0,
                 gumbel_at_test: bool = False) -> None:
        super().__init__()
        if len(scales) < 1:
            raise ValueError('ResolutionSelector needs at least one scale')
        if any(s <= 0 for s in scales):
            raise ValueError(f'scales must be > 0, got {tuple(scales)}')
        self.scales = tuple(float(s) for s in scales)
        if not (isinstance(thumb_size, (tuple, list)) and len(thumb_size) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in thumb_size)):
            # (0, 48) failed in a convolution, 32 frames deep; 16 was "'int' object is
            # not iterable"
            raise ValueError('ResolutionSelector.thumb_size must be (h, w) of two whole '
                             f'numbers > 0, got {thumb_size!r}')
        self.thumb_size = tuple(thumb_size)
        if not 0 < tau < float('inf'):
            raise ValueError(f'tau is a temperature > 0, got {tau}')
        self.tau = tau
        self.gumbel_at_test = check_flag(gumbel_at_test, 'ResolutionSelector.gumbel_at_test')
        layers = []
        prev = in_channels
        for width in channels:
            layers += [
                nn.Conv2d(prev, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True)
            ]
            prev = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(prev, len(self.scales))

    @property
    def num_scales(self) -> int:
        return len(self.scales)

    def forward(self, inputs: Tensor) -> Tensor:
        """``(B, C, H, W)`` images -> ``(B, k)`` logits, one per scale."""
        if inputs.dim() != 4:
            raise ValueError(f'ResolutionSelector expects (B, C, H, W), got {tuple(inputs.shape)}')
        thumb = inputs
        if tuple(inputs.shape[-2:]) != self.thumb_size:
            thumb = F.adaptive_avg_pool2d(inputs, self.thumb_size)
        return self.classifier(self.features(thumb).mean(dim=(2, 3)))

    def decide(self, logits: Tensor, hard: bool = True) -> Tuple[Tensor, Tensor]:
        """Turn ``(B, k)`` logits into decisions ``h`` and chosen indices.

        * training mode: Gumbel-softmax sample at temperature ``self.tau``;
          with ``hard`` the forward value is exactly one-hot and the gradient
          is that of the soft sample (straight-through);
        * eval mode: argmax, deterministic (Gumbel noise first only when
          ``gumbel_at_test``); ``hard=False`` returns ``softmax(logits/tau)``.

        Returns:
            ``(decisions (B, k), index (B,) long)``.
        """
        # float32: under bfloat16 autocast the noise and the argmax ran on its
        # coarse grid, whose ties go to index 0, the dearest scale
        logits = upcast_half(logits)
        noisy = self.training or self.gumbel_at_test
        scores = logits + sample_gumbel_like(logits) if noisy else logits
        index = scores.argmax(dim=-1)
        one_hot = F.one_hot(index, logits.shape[-1]).to(logits.dtype)
        if not self.training and hard:
            return one_hot, index
        soft = F.softmax(scores / self.tau, dim=-1)
        if not hard:
            return soft, index
        # one_hot + (soft - soft) is exactly one_hot in value (x - x == 0),
        # while its gradient is the soft sample's.
        return one_hot + (soft - soft.detach()), index

    def choose(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """``forward`` then ``decide``: ``(B, C, H, W) -> (decisions, index)``."""
        return self.decide(self(inputs))

    def extra_repr(self) -> str:
        return (f'scales={self.scales}, thumb_size={self.thumb_size}, tau={self.tau}, '
                f'gumbel_at_test={self.gumbel_at_test}')


def sample_gumbel_like(x: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
    """Standard Gumbel noise ``-log(E)``, ``E ~ Exp(1)``, shaped like ``x``."""
    exp = torch.empty_like(x).exponential_(generator=generator)
    return -exp.clamp(min=torch.finfo(x.dtype).tiny).log()
