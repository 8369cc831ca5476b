"""Bidirectional LSTM over the width axis of a backbone feature map."""
import torch
from mmengine.model import BaseModule
from torch import nn

from dld.registry import MODELS

from .height_pooling import HeightPooling


@MODELS.register_module()
class BiLSTMEncoder(BaseModule):
    """Height pooling, then a stacked BiLSTM (the CRNN recipe).

    Args:
        in_channels (int): backbone channels C (the recognizer fills it in).
        hidden_size (int): LSTM units per direction.
        num_layers (int): stacked LSTM layers.
        d_model (int | None): output width D; a linear layer maps
            ``2 * hidden_size`` to it. None keeps ``D = 2 * hidden_size``.
        dropout (float): between LSTM layers and on the output.
        pooling (str): height pooling mode, see :class:`HeightPooling`.

    Shapes: ``(B, C, H', W') -> (B, T=W', D)``.
    """

    def __init__(self,
                 in_channels: int,
                 hidden_size: int = 128,
                 num_layers: int = 2,
                 d_model: int = None,
                 dropout: float = 0.1,
                 pooling: str = 'avg',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.pool = HeightPooling(in_channels, pooling)
        self.lstm = nn.LSTM(in_channels, hidden_size, num_layers, batch_first=True,
                            bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Identity() if d_model is None else nn.Linear(2 * hidden_size, d_model)
        self.out_channels = d_model or 2 * hidden_size

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        x, _ = self.lstm(self.pool(feat))
        return self.proj(self.dropout(x))
