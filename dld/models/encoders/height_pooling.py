"""Collapse the height axis of a feature map into a width-wise sequence."""
import torch
from torch import nn

from dld.registry import MODELS


@MODELS.register_module()
class HeightPooling(nn.Module):
    """Reduce ``(B, C, H', W')`` to ``(B, W', C)``.

    ``H'`` changes with the input scale (6 at 1.0x, 2 at 0.3x by default), so
    pooling must not assume a fixed height: ``'avg'`` and ``'max'`` are
    parameter-free; ``'attn'`` learns a per-column softmax over rows, letting
    the model pick the rows that carry the glyphs at every scale.

    Args:
        in_channels (int): C, needed by ``'attn'``.
        mode (str): ``'avg'`` | ``'max'`` | ``'attn'``.
    """

    MODES = ('avg', 'max', 'attn')

    def __init__(self, in_channels: int, mode: str = 'avg') -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'HeightPooling: mode must be one of {self.MODES}, got {mode!r}.')
        self.mode = mode
        if mode == 'attn':
            self.score = nn.Conv2d(in_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == 'avg':
            pooled = x.mean(dim=2)
        elif self.mode == 'max':
            pooled = x.amax(dim=2)
        else:
            weights = self.score(x).softmax(dim=2)  # (B, 1, H', W')
            pooled = (x * weights).sum(dim=2)
        return pooled.transpose(1, 2)  # (B, W', C)
