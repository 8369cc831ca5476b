"""What the student decodes at one scale: each distinct sequence once per image.

The ground truth and the teacher's top-k beams are teacher-forced through
the student's decoder in one pass; a beam equal to the ground truth (mostly
the teacher's top beam) or to an earlier beam reuses that row.
"""
from typing import List, NamedTuple, Optional, Tuple

import torch


class SequencePlan(NamedTuple):
    """What the student decodes at one scale: the images' ground truths
    ``gt``, the teacher's beam ``scores`` (None without beams) and
    :func:`distinct_sequences`' ``seqs``, ``rows`` and ``beam_rows`` (None
    without beams)."""
    gt: List[List[int]]
    scores: Optional[torch.Tensor]
    seqs: List[List[int]]
    rows: List[int]
    beam_rows: Optional[List[int]]

    @classmethod
    def of(cls, idx: torch.Tensor, gt: List[List[int]], teacher: dict) -> 'SequencePlan':
        ids = idx.tolist()
        gt_sub = [gt[i] for i in ids]
        beams = scores = finite = None
        if 'beams' in teacher:
            beams = [teacher['beams'][i] for i in ids]
            scores = teacher['beam_scores'][idx]
            # read to the host once per step (DLDDistiller._run_teacher), not per scale
            finite = teacher.get('beam_finite')
            finite = None if finite is None else [finite[i] for i in ids]
        seqs, rows, beam_rows = distinct_sequences(gt_sub, beams, scores, finite)
        return cls(gt_sub, scores, seqs, rows, beam_rows if beams is not None else None)


def distinct_sequences(gt: List[List[int]], beams: Optional[List[List[List[int]]]],
                        scores: Optional[torch.Tensor],
                        finite: Optional[List[List[bool]]] = None
                        ) -> Tuple[List[List[int]], List[int], List[int]]:
    """The sequences to teacher-force, each once per image.

    Returns ``seqs`` (the n ground truths first, in image order, then each
    image's beams that differ from every earlier sequence of that image),
    ``rows`` (the image each sequence is read from) and ``beam_rows``
    (n * k: the index in ``seqs`` of image i's beam j, -1 where the beam
    does not exist, i.e. its score is -inf).
    """
    seqs = [list(t) for t in gt]
    rows = list(range(len(gt)))
    beam_rows = []
    if beams is None:
        return seqs, rows, beam_rows
    k = scores.shape[1]
    if finite is None:  # which scores are finite, (n, k), as the host reads them
        finite = torch.isfinite(scores).tolist()
    for i, image_beams in enumerate(beams):
        seen = {tuple(gt[i]): i}
        for j in range(k):
            if j >= len(image_beams) or not finite[i][j]:
                beam_rows.append(-1)
                continue
            key = tuple(image_beams[j])
            if key not in seen:
                seen[key] = len(seqs)
                seqs.append(list(image_beams[j]))
                rows.append(i)
            beam_rows.append(seen[key])
    return seqs, rows, beam_rows
