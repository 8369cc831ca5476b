"""Transformer encoder over the width axis of a backbone feature map."""
import torch
from mmengine.model import BaseModule
from torch import nn

from dld.registry import MODELS

from .height_pooling import HeightPooling
from .positional_encoding import SinusoidalPositionalEncoding


@MODELS.register_module()
class TransformerEncoder(BaseModule):
    """Height pooling, linear projection, sinusoidal positions, self-attention.

    Args:
        in_channels (int): backbone channels C (the recognizer fills it in).
        d_model (int): width D of the output sequence.
        num_layers (int): transformer layers (0 keeps only pooling + projection).
        num_heads (int): attention heads; must divide ``d_model``.
        ffn_dim (int | None): feed-forward width, default ``4 * d_model``.
        dropout (float): dropout in the layers and after the positions.
        pooling (str): height pooling mode, see :class:`HeightPooling`.
        norm_first (bool): pre-norm layers (steadier for deep stacks).

    Shapes: ``(B, C, H', W') -> (B, T=W', D)``.
    """

    def __init__(self,
                 in_channels: int,
                 d_model: int = 256,
                 num_layers: int = 2,
                 num_heads: int = 4,
                 ffn_dim: int = None,
                 dropout: float = 0.1,
                 pooling: str = 'avg',
                 norm_first: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if d_model % num_heads:
            raise ValueError(f'TransformerEncoder: num_heads={num_heads} must divide '
                             f'd_model={d_model}.')
        self.out_channels = d_model
        self.pool = HeightPooling(in_channels, pooling)
        self.proj = nn.Linear(in_channels, d_model)
        self.pos = SinusoidalPositionalEncoding(d_model, dropout)
        self.layers = None
        if num_layers > 0:
            layer = nn.TransformerEncoderLayer(
                d_model, num_heads, ffn_dim or 4 * d_model, dropout,
                batch_first=True, norm_first=norm_first)
            self.layers = nn.TransformerEncoder(
                layer, num_layers, norm=nn.LayerNorm(d_model) if norm_first else None,
                enable_nested_tensor=False)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        x = self.pos(self.proj(self.pool(feat)))
        return x if self.layers is None else self.layers(x)
