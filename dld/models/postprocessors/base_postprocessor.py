"""Turn decoded index sequences and their log-probabilities into text."""
from typing import Dict, List, Optional, Sequence

import torch

from dld.registry import MODELS


@MODELS.register_module()
class BasePostProcessor:
    """Index sequences -> ``dict(text, score, topk, truncated)`` per image.

    ``score`` is ``exp`` of the best sequence's log-probability, i.e. the
    model's probability of the whole predicted string (CTC: summed over
    alignments), in [0, 1]. It is a sequence probability, not a mean
    character probability, so it is comparable across beam and greedy
    decoding and can be multiplied across frames for track voting.

    Args:
        dictionary (Dictionary): the decoder's dictionary (the decoder passes it).
    """

    def __init__(self, dictionary) -> None:
        self.dictionary = dictionary

    def format(self, seqs: Sequence[Sequence[Sequence[int]]],
               scores: torch.Tensor, truncated: Optional[torch.Tensor] = None) -> List[Dict]:
        """``seqs``: B lists of k index lists, best first; ``scores (B, k)``;
        ``truncated (B, k)``: whether each was ended by the decoder's step
        limit (see :meth:`BaseDecoder.search`), the best one's given as
        ``truncated`` (None where the decoder does not say).

        Hypotheses with a ``-inf`` score (fewer than k exist) are left out of
        ``topk``.
        """
        results = []
        scores = scores.detach().float().cpu()
        flags = None if truncated is None else truncated.detach().cpu().tolist()
        for b, hyps in enumerate(seqs):
            topk = [(self.dictionary.idx2str(h), float(s))
                    for h, s in zip(hyps, scores[b].tolist()) if s != float('-inf')]
            text, logp = topk[0] if topk else ('', float('-inf'))
            cut = None if truncated is None else bool(flags[b][0]) and bool(topk)
            results.append(dict(text=text, score=float(torch.tensor(logp).exp()), topk=topk,
                                truncated=cut))
        return results
