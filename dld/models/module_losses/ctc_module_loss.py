"""CTC loss of a CTC decoder's logits against index targets."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dld.registry import MODELS


@MODELS.register_module()
class CTCModuleLoss(nn.Module):
    """CTC negative log-likelihood, summed over all alignments.

    Args:
        dictionary (Dictionary): gives the blank index (the decoder passes it).
        loss_weight (float): multiplies the reduced loss.
        reduction (str): ``'mean'``: each sequence's NLL averaged over the
            batch, so ``loss == sequence_nll.mean()`` and the scale matches
            sequence-level distillation terms; ``'token_mean'``: each NLL
            divided by its target length first (PyTorch's ``'mean'``), which
            keeps long and short labels on one scale; ``'sum'``.
        zero_infinity (bool): a target longer than the input can align to
            (possible at 0.3x) gives an infinite NLL; zero it rather than
            poison the batch.

    Shapes: ``logits (B, T, K)``, targets B lists of character indices.
    """

    REDUCTIONS = ('mean', 'token_mean', 'sum')

    def __init__(self, dictionary, loss_weight: float = 1.0, reduction: str = 'mean',
                 zero_infinity: bool = True) -> None:
        super().__init__()
        if reduction not in self.REDUCTIONS:
            raise ValueError(f'CTCModuleLoss: reduction must be one of {self.REDUCTIONS}, '
                             f'got {reduction!r}.')
        if dictionary.blank_idx is None:
            raise ValueError('CTCModuleLoss needs a dictionary with with_blank=True.')
        self.blank_idx = dictionary.blank_idx
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.zero_infinity = zero_infinity

    def nll(self, logits: torch.Tensor, targets: Sequence[Sequence[int]],
            zero_infinity: bool = False,
            unalignable_nll: Optional[float] = None) -> torch.Tensor:
        """``-log p(target | x)`` per sample, ``(B,)``; +inf if unalignable.

        A target needs ``len + repeats`` frames (a blank between equal
        neighbours). With ``unalignable_nll`` set, such targets get that
        constant with zero gradient instead of +inf, so a distiller can still
        score a scale whose input is too short (e.g. 7 characters at 0.3x).
        """
        if unalignable_nll is not None:
            needed = torch.tensor(
                [len(t) + sum(a == b for a, b in zip(t, t[1:])) for t in targets],
                device=logits.device)
            nll = self.nll(logits, targets, zero_infinity=True)
            bad = needed > logits.size(1)
            return torch.where(bad, nll.new_tensor(float(unalignable_nll)), nll)
        if len(targets) != logits.size(0):
            raise ValueError(f'CTCModuleLoss: {logits.size(0)} logits but {len(targets)} '
                             'targets.')
        log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (T, B, K)
        B, T = logits.size(0), logits.size(1)
        device = logits.device
        flat = [i for t in targets for i in t]
        target_cat = torch.tensor(flat, dtype=torch.long, device=device)
        target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long,
                                      device=device)
        input_lengths = torch.full((B,), T, dtype=torch.long, device=device)
        return F.ctc_loss(log_probs, target_cat, input_lengths, target_lengths,
                          blank=self.blank_idx, reduction='none',
                          zero_infinity=zero_infinity)

    def sample_losses(self, logits: torch.Tensor, targets: Sequence[Sequence[int]],
                      zero_infinity: Optional[bool] = None) -> torch.Tensor:
        """Each sample's weighted share of :meth:`forward`'s loss, ``(B,)``:
        ``forward`` is their mean (``'mean'``, ``'token_mean'``) or sum, so a
        distiller can weigh the samples itself. ``zero_infinity``: None keeps
        the module's."""
        return self._unweighted(logits, targets, zero_infinity) * self.loss_weight

    def _unweighted(self, logits: torch.Tensor, targets: Sequence[Sequence[int]],
                    zero_infinity: Optional[bool] = None) -> torch.Tensor:
        if zero_infinity is None:
            zero_infinity = self.zero_infinity
        nll = self.nll(logits, targets, zero_infinity=zero_infinity)
        if self.reduction == 'token_mean':
            nll = nll / torch.tensor([max(len(t), 1) for t in targets], device=nll.device)
        return nll

    def forward(self, logits: torch.Tensor,
                targets: Sequence[Sequence[int]]) -> Dict[str, torch.Tensor]:
        per_sample = self._unweighted(logits, targets)
        loss = per_sample.sum() if self.reduction == 'sum' else per_sample.mean()
        return dict(loss_ctc=loss * self.loss_weight)
