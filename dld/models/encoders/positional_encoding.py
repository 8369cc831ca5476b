"""Sinusoidal positional encoding computed for any sequence length."""
import math

import torch
from torch import nn

from dld.registry import MODELS


@MODELS.register_module()
class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sin/cos encoding of Vaswani et al.

    Computed on the fly rather than from a table, because ``T`` follows the
    input width (about 11 at 0.3x, 36 at 1.0x) and has no fixed maximum.

    Shapes: ``(B, T, D) -> (B, T, D)``.
    """

    def __init__(self, d_model: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.d_model = d_model
        self.dropout = nn.Dropout(dropout)

    def encoding(self, length: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """The ``(length, D)`` encoding table."""
        pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
        i = torch.arange(0, self.d_model, 2, device=device, dtype=torch.float32)
        freq = torch.exp(-math.log(10000.0) * i / self.d_model)
        pe = torch.zeros(length, self.d_model, device=device)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq)[:, :self.d_model // 2]
        return pe.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.encoding(x.size(1), x.device, x.dtype)[None])
