"""The selector's accuracy score of the paper: a KL over the teacher's beams."""
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
    """
    valid = torch.isfinite(beam_scores)
    log_t = beam_scores.masked_fill(~valid, float('-inf'))
    log_s = (-beam_nll).masked_fill(~valid, float('-inf'))
    p_t = log_t.exp()
    beams = torch.where(valid, p_t * (log_t - log_s), torch.zeros_like(p_t)).sum(dim=1)
    rest_t = (1 - p_t.sum(dim=1)).clamp(min=eps)
    rest_s = (1 - log_s.exp().sum(dim=1)).clamp(min=eps)
    return beams + rest_t * (rest_t.log() - rest_s.log())
