"""Autoregressive attention decoder (transformer or RNN cell)."""
from typing import Optional, Tuple

import torch
from torch import nn

from dld.models.module_losses.ce_module_loss import pad_targets
from dld.registry import MODELS

from .attention_beam_search import attention_beam_search
from .base_decoder import BaseDecoder, Hypotheses, Targets, build_dictionary


@MODELS.register_module()
class AttentionDecoder(BaseDecoder):
    """Predicts one character per step from the encoder memory.

    Trained with teacher forcing; decoded greedily or with a batched beam
    search. ``L = max_seq_len`` always (characters + EOS), so teacher and
    student logits line up step by step for distillation.

    The classifier has ``K = dictionary.padding_idx`` outputs: every
    character plus EOS, but no padding class (it is never a prediction), so
    ``log_softmax`` over K is the true next-token distribution.

    Args:
        in_channels (int): encoder width D (the recognizer fills it in).
        cell (str): ``'transformer'``, ``'gru'`` or ``'lstm'``.
        d_model (int): decoder width D' (of ``decoder_hidden``).
        num_layers (int): decoder layers / stacked RNN cells.
        num_heads (int): attention heads (transformer only).
        ffn_dim (int | None): feed-forward width (transformer only).
        dropout (float): dropout inside the cell.
        max_seq_len (int): decoding steps including EOS; labels longer than
            ``max_seq_len - 1`` are cut when training (``LabelLengthCheckHook``
            refuses such labels of the sets on disk before training starts).
        dictionary (dict | Dictionary | None): ``with_start_end`` and
            ``with_padding`` are switched on.
        module_loss (dict): default ``CEModuleLoss``.
        postprocessor (dict): default ``AttentionPostProcessor``.
        beam_width (int), topk (int): beam search defaults.

    Shapes: ``(B, T, D) -> logits (B, L, K)``, ``hidden (B, L, d_model)``.
    """

    CELLS = ('transformer', 'gru', 'lstm')
    reads_padded_memory = True

    def __init__(self,
                 in_channels: int,
                 cell: str = 'transformer',
                 d_model: int = 256,
                 num_layers: int = 2,
                 num_heads: int = 4,
                 ffn_dim: int = None,
                 dropout: float = 0.1,
                 max_seq_len: int = 8,
                 dictionary=None,
                 module_loss: dict = dict(type='CEModuleLoss'),  # noqa: B006
                 postprocessor: dict = dict(type='AttentionPostProcessor'),  # noqa: B006
                 beam_width: int = 5,
                 topk: int = 1,
                 init_cfg=None) -> None:
        dictionary = build_dictionary(dictionary, 'AttentionDecoder', with_start_end=True,
                                      with_padding=True)
        super().__init__(dictionary, module_loss, postprocessor, beam_width, topk, init_cfg)
        if cell not in self.CELLS:
            raise ValueError(f'AttentionDecoder: cell must be one of {self.CELLS}, '
                             f'got {cell!r}.')
        if max_seq_len < 1:
            raise ValueError(f'AttentionDecoder: max_seq_len must be >= 1, got {max_seq_len}.')
        self.max_seq_len = max_seq_len
        self.start_idx = dictionary.start_idx
        self.end_idx = dictionary.end_idx
        self.padding_idx = dictionary.padding_idx
        num_embeddings = dictionary.num_classes
        if cell == 'transformer':
            self.cell = MODELS.build(dict(
                type='TransformerDecoderCell', num_embeddings=num_embeddings,
                in_channels=in_channels, d_model=d_model, num_layers=num_layers,
                num_heads=num_heads, ffn_dim=ffn_dim, dropout=dropout))
        else:
            self.cell = MODELS.build(dict(
                type='RNNAttentionCell', num_embeddings=num_embeddings,
                in_channels=in_channels, d_model=d_model, num_layers=num_layers, rnn=cell,
                dropout=dropout))
        self.classifier = nn.Linear(d_model, dictionary.padding_idx)

    def forward_train(self, encoder_out: torch.Tensor, targets: Targets,
                      memory_mask: Optional[torch.Tensor] = None
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing on ``[BOS, y_1 .. y_{L-1}]``; ``memory_mask``
        ``(B, T)``: True on the real steps of a padded ``encoder_out``."""
        if targets is None:  # free-running, on the real steps only
            logits, hidden, _ = self._greedy(encoder_out, memory_mask)
            return logits, hidden
        tgt = pad_targets(targets, self.max_seq_len, self.end_idx, self.padding_idx,
                          encoder_out.device)
        bos = tgt.new_full((tgt.size(0), 1), self.start_idx)
        hidden = self.cell(encoder_out, torch.cat([bos, tgt[:, :-1]], dim=1),
                           memory_mask=memory_mask)
        return self.classifier(hidden), hidden

    def _step(self, prepared, token: torch.Tensor, state):
        hidden, state = self.cell.step(prepared, token, state)
        return self.classifier(hidden), hidden, state

    def _greedy(self, encoder_out: torch.Tensor, memory_mask: Optional[torch.Tensor] = None):
        B = encoder_out.size(0)
        token = encoder_out.new_full((B,), self.start_idx, dtype=torch.long)
        state = self.cell.init_state(encoder_out, memory_mask)
        prepared = self.cell.prepare(encoder_out, memory_mask)
        logits, hiddens, tokens = [], [], []
        for t in range(self.max_seq_len):
            logit, hidden, state = self._step(prepared, token, state)
            if t == self.max_seq_len - 1:  # the last step may only end the sequence
                token = torch.full_like(token, self.end_idx)
            else:
                token = logit.argmax(-1)
            logits.append(logit)
            hiddens.append(hidden)
            tokens.append(token)
        return torch.stack(logits, 1), torch.stack(hiddens, 1), torch.stack(tokens, 1)

    def forward_test(self, encoder_out: torch.Tensor,
                     memory_mask: Optional[torch.Tensor] = None
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Free-running greedy decoding: the step logits along the greedy path."""
        logits, hidden, _ = self._greedy(encoder_out, memory_mask)
        return logits, hidden

    @torch.no_grad()
    def greedy_search(self, encoder_out: torch.Tensor,
                      memory_mask: Optional[torch.Tensor] = None
                      ) -> Tuple[Hypotheses, torch.Tensor]:
        """Argmax per step; score = sum of the chosen tokens' log-probs up to
        and including EOS, i.e. ``log p(text | x)``."""
        return self._greedy_search(encoder_out, memory_mask)[:2]

    @torch.no_grad()
    def _greedy_search(self, encoder_out: torch.Tensor,
                       memory_mask: Optional[torch.Tensor] = None):
        """:meth:`greedy_search`, and whether each reading was cut (``(B, 1)``):
        no EOS before the last step, whose EOS is forced where the model's
        argmax was another character."""
        logits, _, tokens = self._greedy(encoder_out, memory_mask)
        logp = logits.float().log_softmax(-1).gather(2, tokens[..., None])[..., 0]  # (B, L)
        is_end = tokens == self.end_idx
        # keep steps up to and including the first EOS
        upto = (is_end.long().cumsum(1) - is_end.long()) == 0
        scores = (logp * upto).sum(1)
        seqs = self.postprocessor.truncate(tokens)
        cut = ~is_end[:, :-1].any(1) & (logits[:, -1].argmax(-1) != self.end_idx)
        return [[s] for s in seqs], scores[:, None], cut[:, None]

    def search(self, encoder_out: torch.Tensor, decode: str = 'greedy',
               beam_width: Optional[int] = None, topk: Optional[int] = None,
               memory_mask: Optional[torch.Tensor] = None):
        """As :meth:`BaseDecoder.search`: a reading is cut where the model
        would have emitted another character at the last step, which may
        only end the sequence (``max_seq_len``). A subclass's own search is
        used as it is, its readings not flagged (None)."""
        own = type(self).greedy_search if decode == 'greedy' else type(self).beam_search
        if own is not getattr(AttentionDecoder, own.__name__):
            return super().search(encoder_out, decode, beam_width, topk,
                                  memory_mask=memory_mask)
        if decode == 'greedy':
            return self._greedy_search(encoder_out, memory_mask)
        return self._beam_search(encoder_out, beam_width, topk, memory_mask, truncated=True)

    @torch.no_grad()
    def beam_search(self, encoder_out: torch.Tensor, beam_width: Optional[int] = None,
                    topk: Optional[int] = None, memory_mask: Optional[torch.Tensor] = None
                    ) -> Tuple[Hypotheses, torch.Tensor]:
        return self._beam_search(encoder_out, beam_width, topk, memory_mask)

    @torch.no_grad()
    def _beam_search(self, encoder_out: torch.Tensor, beam_width: Optional[int] = None,
                     topk: Optional[int] = None, memory_mask: Optional[torch.Tensor] = None,
                     truncated: bool = False):
        W = beam_width or self.beam_width
        memory = encoder_out.repeat_interleave(W, dim=0)  # (B*W, T, D)
        mask = None if memory_mask is None else memory_mask.repeat_interleave(W, dim=0)
        prepared = _repeat_rows(self.cell.prepare(encoder_out, memory_mask), W)

        def step_fn(token, state):
            logit, _, state = self._step(prepared, token, state)
            return logit.float().log_softmax(-1), state

        return attention_beam_search(step_fn, self.cell.init_state(memory, mask),
                                     encoder_out.size(0), W, topk or self.topk,
                                     self.max_seq_len, self.start_idx, self.end_idx,
                                     truncated=truncated)


def _repeat_rows(prepared, times: int):
    """Each image's row ``times`` times, in a cell's prepared memory (a tensor
    or a tuple of tensors)."""
    if isinstance(prepared, torch.Tensor):
        return prepared.repeat_interleave(times, dim=0)
    return tuple(p.repeat_interleave(times, dim=0) for p in prepared)
