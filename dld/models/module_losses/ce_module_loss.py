"""Token cross-entropy of an attention decoder's teacher-forced logits."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dld.registry import MODELS


def pad_targets(targets: Sequence[Sequence[int]], length: int, end_idx: int,
                padding_idx: int, device=None) -> torch.Tensor:
    """``(B, length)`` targets ``[y_1..y_n, EOS, PAD...]``.

    Labels longer than ``length - 1`` characters are cut so that every
    target keeps its EOS: the decoder must always learn where to stop.
    """
    rows = []
    for t in targets:  # padded in Python: one tensor, not a copy per label
        t = [int(c) for c in t][:length - 1]
        rows.append(t + [end_idx] + [padding_idx] * (length - 1 - len(t)))
    return torch.tensor(rows, dtype=torch.long).view(len(rows), length).to(device)


@MODELS.register_module()
class CEModuleLoss(nn.Module):
    """Cross-entropy over decoding steps; padding positions are ignored.

    Args:
        dictionary (Dictionary): gives EOS and padding indices.
        loss_weight (float): multiplies the reduced loss.
        reduction (str): ``'mean'`` over real tokens (characters + EOS), or
            ``'sum'`` (then ``loss == sequence_nll.sum()`` without smoothing).
        label_smoothing (float): spreads that much target mass uniformly over
            the K classes; :meth:`nll` never smooths, it is a likelihood.

    Shapes: ``logits (B, L, K)`` where K excludes the padding token (the
    decoder never predicts it); targets B lists of character indices.
    """

    REDUCTIONS = ('mean', 'sum')

    def __init__(self, dictionary, loss_weight: float = 1.0, reduction: str = 'mean',
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        if reduction not in self.REDUCTIONS:
            raise ValueError(f'CEModuleLoss: reduction must be one of {self.REDUCTIONS}, '
                             f'got {reduction!r}.')
        if dictionary.end_idx is None or dictionary.padding_idx is None:
            raise ValueError('CEModuleLoss needs a dictionary with with_start_end=True and '
                             'with_padding=True.')
        self.end_idx = dictionary.end_idx
        self.padding_idx = dictionary.padding_idx
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def target_tensor(self, targets: Sequence[Sequence[int]], length: int,
                      device=None) -> torch.Tensor:
        """``(B, length)`` padded targets, see :func:`pad_targets`."""
        return pad_targets(targets, length, self.end_idx, self.padding_idx, device)

    def _token_ce(self, logits: torch.Tensor, targets: Sequence[Sequence[int]],
                  label_smoothing: float) -> torch.Tensor:
        if len(targets) != logits.size(0):
            raise ValueError(f'CEModuleLoss: {logits.size(0)} logits but {len(targets)} '
                             'targets.')
        tgt = self.target_tensor(targets, logits.size(1), logits.device)
        # The padding index may equal K (the decoder has no padding class),
        # so it is mapped to -100 rather than passed as ignore_index.
        tgt = tgt.masked_fill(tgt == self.padding_idx, -100)
        ce = F.cross_entropy(logits.float().transpose(1, 2), tgt, ignore_index=-100,
                             reduction='none', label_smoothing=label_smoothing)
        return ce, tgt != -100  # (B, L), (B, L)

    def nll(self, logits: torch.Tensor, targets: Sequence[Sequence[int]],
            unalignable_nll: Optional[float] = None) -> torch.Tensor:
        """``-log p(target | x)`` per sample, ``(B,)``: token NLLs incl. EOS.

        An autoregressive decoder can emit any target up to its length limit
        (``L - 1`` characters and EOS); a longer one it cannot emit at all,
        so it gets ``unalignable_nll`` (zero gradient) or +inf, as CTC does,
        rather than the likelihood of the cut string :meth:`forward` trains.
        """
        ce, _ = self._token_ce(logits, targets, 0.0)
        nll = ce.sum(dim=1)
        too_long = [len(t) > logits.size(1) - 1 for t in targets]
        if not any(too_long):  # decided in Python: no host sync, no graph break
            return nll
        too_long = torch.tensor(too_long, device=nll.device)
        fill = float('inf') if unalignable_nll is None else float(unalignable_nll)
        return torch.where(too_long, nll.new_tensor(fill), nll)

    def forward(self, logits: torch.Tensor,
                targets: Sequence[Sequence[int]]) -> Dict[str, torch.Tensor]:
        ce, valid = self._token_ce(logits, targets, self.label_smoothing)
        loss = ce.sum()
        if self.reduction == 'mean':
            loss = loss / valid.sum().clamp(min=1)
        return dict(loss_ce=loss * self.loss_weight)
