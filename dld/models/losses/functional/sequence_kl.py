"""The selector's accuracy score of the paper: a KL over the teacher's beams."""
import math

import torch


def topk_sequence_kl(beam_nll: torch.Tensor, beam_scores: torch.Tensor,
                      eps: float = 1e-6) -> torch.Tensor:
    """KL(teacher || student) over the teacher's top-k sequences plus "the rest".

    The sequence space is coarse-grained into k + 1 outcomes: each of the
    teacher's k beams, and every other sequence. Both models' probabilities
    of those outcomes are exact (the rest is 1 minus the beams' mass), so
    this is a true KL: zero when the student matches the teacher, and a
    lower bound on the full sequence KL. ``beam_nll`` is the student's
    ``-log p(beam)``, ``beam_scores`` the teacher's ``log p(beam)``
    (``-inf`` where a beam does not exist). Shapes: (n, k) -> (n,).

    At least 0. Beam scores that overshoot (a CTC prefix search's
    estimates, whose mass may sum past 1, against the student's exact
    ``-log p``) and the clamps of the rest (``eps``) made it negative: a
    rounding step below 0 in training logs (``selector_score: -0.0000``),
    -0.02 for beams summing to 2. The score is detached (the selector's
    target), so the clamp takes no gradient from anything that learns.
    """
    valid = torch.isfinite(beam_scores)
    log_t = beam_scores.masked_fill(~valid, float('-inf'))
    log_s = (-beam_nll).masked_fill(~valid, float('-inf'))
    p_t = log_t.exp()
    beams = torch.where(valid, p_t * (log_t - log_s), torch.zeros_like(p_t)).sum(dim=1)
    log_rest_t, log_rest_s = _log_rest(log_t, eps), _log_rest(log_s, eps)
    return (beams + log_rest_t.exp() * (log_rest_t - log_rest_s)).clamp(min=0)


def _log_rest(log_p: torch.Tensor, eps: float) -> torch.Tensor:
    """``log(1 - sum(exp(log_p)))``, at least ``log(eps)``.

    Why ``expm1``: when the beams hold nearly all the mass, ``1 - sum`` in
    float32 keeps few of the rest's digits (1e-7 absolute error on a rest
    of 1e-5); ``-expm1(logsumexp)`` keeps them.
    """
    lse = torch.logsumexp(log_p, dim=1).clamp(max=math.log1p(-eps))
    return torch.log(-torch.expm1(lse))
