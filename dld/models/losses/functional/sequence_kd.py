"""Sequence-level KD (Kim & Rush, 2016) on the teacher's top-k beams."""
import torch
from torch import Tensor

from .reduction import check_reduction, reduce_samples

WEIGHTINGS = ('score', 'uniform', 'top1')


def sequence_kd_loss(nll: Tensor,
                     beam_scores: Tensor,
                     weighting: str = 'score',
                     reduction: str = 'mean') -> Tensor:
    """Student NLL of the teacher's beams, weighted per beam.

    Per sample: ``sum_j w_j * nll_j`` over the beams that exist. The weights
    are a fixed target, detached from ``beam_scores``:

    * ``'score'``: softmax of the valid beam scores, i.e. the teacher's
      sequence probabilities renormalised over its top-k;
    * ``'uniform'``: ``1 / n_valid`` on each existing beam;
    * ``'top1'``: 1 on beam 0 (the teacher's best), 0 elsewhere.

    Args:
        nll: ``(B, k)``, ``nll[b, j] = -log p_student(beam_j | x_b)``; entries
            of missing beams may hold anything (inf, NaN) and are ignored.
        beam_scores: ``(B, k)`` teacher sequence log-probabilities, best
            first, ``-inf`` where the beam does not exist.
        weighting: ``'score'``, ``'uniform'`` or ``'top1'``.
        reduction: ``'none'`` -> ``(B,)``; ``'mean'`` over samples with at
            least one beam; ``'sum'``.
    """
    check_reduction(reduction)
    if weighting not in WEIGHTINGS:
        raise ValueError(f'weighting must be one of {WEIGHTINGS}, got {weighting!r}')
    if nll.shape != beam_scores.shape or nll.dim() != 2:
        raise ValueError(f'nll {tuple(nll.shape)} and beam_scores {tuple(beam_scores.shape)} '
                         'must both be (B, k)')
    weights, has_beam = beam_weights(beam_scores, weighting)
    weights = weights.to(nll.dtype)
    # zero-weight beams may carry inf/NaN nll: 0 * inf would be NaN
    safe_nll = nll.where(weights > 0, nll.new_zeros(()))
    return reduce_samples((weights * safe_nll).sum(dim=1), has_beam, reduction)


def beam_weights(beam_scores: Tensor, weighting: str = 'score'):
    """Detached ``(B, k)`` beam weights and a ``(B,)`` bool "has a beam".

    Rows without any finite score get all-zero weights.
    """
    scores = beam_scores.detach().float()
    valid = torch.isfinite(scores)
    has_beam = valid.any(dim=1)
    if weighting == 'score':
        logits = scores.where(valid, scores.new_tensor(float('-inf')))
        # a row of -inf would softmax to NaN; give it a dummy 0 and zero it below
        logits = logits.where(has_beam[:, None], scores.new_zeros(()))
        weights = logits.softmax(dim=1)
    elif weighting == 'uniform':
        weights = valid.float() / valid.sum(dim=1, keepdim=True).clamp(min=1)
    else:
        weights = torch.zeros_like(scores)
        weights[:, 0] = valid[:, 0].float()
        has_beam = valid[:, 0]
    weights = weights.where(valid & has_beam[:, None], weights.new_zeros(()))
    return weights, has_beam
