"""Transformer decoder layers as a step-able autoregressive cell."""
from typing import Optional, Tuple, Union

import torch
from torch import nn

from dld.models.encoders.positional_encoding import SinusoidalPositionalEncoding
from dld.registry import MODELS


@MODELS.register_module()
class TransformerDecoderCell(nn.Module):
    """Causal self-attention over previous tokens, cross-attention to memory.

    The step state is simply the token prefix ``(B, t)``; each step re-runs
    the stack on the prefix. Plates are at most ~8 steps, so a key/value
    cache would save little and the step then matches teacher forcing
    exactly.

    Args:
        num_embeddings (int): token vocabulary (the dictionary's classes).
        in_channels (int): memory width D.
        d_model, num_layers, num_heads, ffn_dim, dropout: the usual.

    Shapes: memory ``(B, T, D)``, tokens ``(B, L)`` -> hidden ``(B, L, d_model)``;
    ``memory_mask`` ``(B, T)`` bool, True on the real steps of a memory
    padded along T (memories of several widths decoded in one pass).
    """

    def __init__(self, num_embeddings: int, in_channels: int, d_model: int = 256,
                 num_layers: int = 2, num_heads: int = 4, ffn_dim: int = None,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f'TransformerDecoderCell: num_heads={num_heads} must divide '
                             f'd_model={d_model}.')
        self.d_model = d_model
        self.embed = nn.Embedding(num_embeddings, d_model)
        self.pos = SinusoidalPositionalEncoding(d_model, dropout)
        self.mem_proj = (nn.Identity() if in_channels == d_model
                         else nn.Linear(in_channels, d_model))
        layer = nn.TransformerDecoderLayer(d_model, num_heads, ffn_dim or 4 * d_model, dropout,
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerDecoder(layer, num_layers, norm=nn.LayerNorm(d_model))

    def prepare(self, memory: torch.Tensor, memory_mask: Optional[torch.Tensor] = None
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """The memory projected to ``d_model``, once per sequence, not per
        step; with a mask, also the padding that cross-attention leaves out."""
        if memory_mask is None:
            return self.mem_proj(memory)
        return self.mem_proj(memory), ~memory_mask

    def forward(self, memory: torch.Tensor, tokens: torch.Tensor,
                memory_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Teacher forcing: all positions at once under a causal mask."""
        return self._decode(self.prepare(memory, memory_mask), tokens)

    def _decode(self, prepared, tokens: torch.Tensor) -> torch.Tensor:
        L = tokens.size(1)
        x = self.pos(self.embed(tokens))
        mask = nn.Transformer.generate_square_subsequent_mask(L, device=tokens.device,
                                                              dtype=x.dtype)
        memory, padding = prepared if isinstance(prepared, tuple) else (prepared, None)
        return self.layers(x, memory, tgt_mask=mask, tgt_is_causal=True,
                           memory_key_padding_mask=padding)

    def init_state(self, memory: torch.Tensor, memory_mask: Optional[torch.Tensor] = None
                   ) -> Tuple[torch.Tensor, ...]:
        return (memory.new_zeros((memory.size(0), 0), dtype=torch.long),)

    def step(self, prepared, token: torch.Tensor,
             state: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """``token (B,)`` -> hidden ``(B, d_model)`` of the new position;
        ``prepared`` comes from :meth:`prepare`."""
        prefix = torch.cat([state[0], token[:, None]], dim=1)
        return self._decode(prepared, prefix)[:, -1], (prefix,)
