"""GRU/LSTM decoder cell with additive (Bahdanau) attention."""
from typing import Optional, Tuple

import torch
from torch import nn

from dld.registry import MODELS


@MODELS.register_module()
class RNNAttentionCell(nn.Module):
    """Attend with the previous state, then update the RNN with the glimpse.

    The hidden state handed out per step is ``tanh(W [h_t; context_t])``,
    which mixes what was read with what the decoder remembers (a good
    feature for distillation). The state is ``(h, c)`` of shape
    ``(B, num_layers, d_model)`` each (``c`` is unused zeros for GRU), so a
    beam search can re-gather rows without knowing the cell type.

    Args:
        num_embeddings (int): token vocabulary (the dictionary's classes).
        in_channels (int): memory width D.
        d_model (int): RNN and output width.
        num_layers (int): stacked RNN cells.
        rnn (str): ``'gru'`` or ``'lstm'``.
        dropout (float): on the embedding and the output.

    Shapes: memory ``(B, T, D)``, tokens ``(B, L)`` -> hidden ``(B, L, d_model)``;
    ``memory_mask`` ``(B, T)`` bool, True on the real steps of a memory
    padded along T (memories of several widths decoded in one pass).
    """

    def __init__(self, num_embeddings: int, in_channels: int, d_model: int = 256,
                 num_layers: int = 1, rnn: str = 'gru', dropout: float = 0.1) -> None:
        super().__init__()
        if rnn not in ('gru', 'lstm'):
            raise ValueError(f"RNNAttentionCell: rnn must be 'gru' or 'lstm', got {rnn!r}.")
        self.rnn = rnn
        self.num_layers = num_layers
        self.d_model = d_model
        self.embed = nn.Embedding(num_embeddings, d_model)
        self.key = nn.Linear(in_channels, d_model)
        self.query = nn.Linear(d_model, d_model, bias=False)
        self.energy = nn.Linear(d_model, 1, bias=False)
        self.init_h = nn.Linear(in_channels, d_model)
        cell = nn.GRUCell if rnn == 'gru' else nn.LSTMCell
        self.cells = nn.ModuleList(
            cell(d_model + in_channels if i == 0 else d_model, d_model)
            for i in range(num_layers))
        self.out = nn.Linear(d_model + in_channels, d_model)
        self.dropout = nn.Dropout(dropout)

    def init_state(self, memory: torch.Tensor, memory_mask: Optional[torch.Tensor] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
        if memory_mask is None:
            mean = memory.mean(dim=1)
        else:
            w = memory_mask[..., None].to(memory.dtype)
            mean = (memory * w).sum(dim=1) / w.sum(dim=1).clamp(min=1)
        h = torch.tanh(self.init_h(mean))[:, None].repeat(1, self.num_layers, 1)
        return h, torch.zeros_like(h)

    def prepare(self, memory: torch.Tensor, memory_mask: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, ...]:
        """``(memory, keys[, padding])``: the attention keys do not change
        between steps, so they are projected once per sequence, not once per
        step; ``padding`` (B, T, 1) is True on the steps a mask leaves out."""
        if memory_mask is None:
            return memory, self.key(memory)
        return memory, self.key(memory), ~memory_mask[..., None]

    def _attend(self, prepared: Tuple[torch.Tensor, ...], h: torch.Tensor) -> torch.Tensor:
        """``(B, T, D) memory and keys, (B, d) -> context (B, D)``."""
        memory, keys = prepared[:2]
        e = self.energy(torch.tanh(keys + self.query(h)[:, None]))  # (B, T, 1)
        if len(prepared) == 3:
            e = e.masked_fill(prepared[2], float('-inf'))
        # a matrix product, so that FLOP counting sees it (dld/utils/flops.py):
        # (B, 1, T) @ (B, T, D), where a broadcast product and sum count 0
        return torch.bmm(e.softmax(dim=1).transpose(1, 2), memory).squeeze(1)

    def step(self, prepared: Tuple[torch.Tensor, torch.Tensor], token: torch.Tensor,
             state: Tuple[torch.Tensor, torch.Tensor]
             ) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """``token (B,)`` -> hidden ``(B, d_model)``, new state; ``prepared``
        comes from :meth:`prepare`."""
        h, c = state
        context = self._attend(prepared, h[:, -1])
        x = torch.cat([self.dropout(self.embed(token)), context], dim=-1)
        hs, cs = [], []
        for i, cell in enumerate(self.cells):
            if self.rnn == 'gru':
                h_i = cell(x, h[:, i])
                c_i = c[:, i]
            else:
                h_i, c_i = cell(x, (h[:, i], c[:, i]))
            hs.append(h_i)
            cs.append(c_i)
            x = h_i
        hidden = self.dropout(torch.tanh(self.out(torch.cat([x, context], dim=-1))))
        return hidden, (torch.stack(hs, 1), torch.stack(cs, 1))

    def forward(self, memory: torch.Tensor, tokens: torch.Tensor,
                memory_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Teacher forcing: one step per input token."""
        state = self.init_state(memory, memory_mask)
        prepared = self.prepare(memory, memory_mask)
        hidden = []
        for t in range(tokens.size(1)):
            h, state = self.step(prepared, tokens[:, t], state)
            hidden.append(h)
        return torch.stack(hidden, dim=1)
