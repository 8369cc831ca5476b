"""CTC prefix beam search, batched over images."""
from typing import List, Tuple

import torch

NEG_INF = float('-inf')


@torch.no_grad()
def ctc_prefix_beam_search(log_probs: torch.Tensor, blank: int, beam_width: int,
                           topk: int = 1) -> Tuple[List[List[List[int]]], torch.Tensor]:
    """Best label sequences of a CTC output and their log-probabilities.

    Unlike best-path decoding, each hypothesis is a collapsed *prefix* and
    carries the probability of all alignments that produce it, split into
    "ends in blank" (``pb``) and "ends in a character" (``pnb``) so that a
    repeated character is only counted as new after a blank. Hypotheses that
    reach the same prefix from two beams are merged, so with a beam wide
    enough to hold every prefix the result is exact.

    All B images advance together: the only Python loop is over time.

    Args:
        log_probs: ``(B, T, K)`` per-frame log-probabilities.
        blank: index of the blank class.
        beam_width: prefixes kept per image after each frame.
        topk: hypotheses returned per image (at most ``beam_width`` are real).

    Returns:
        ``seqs``: B lists of ``topk`` label lists, best first (``[]`` where
        fewer than ``topk`` prefixes exist); ``scores (B, topk)``: their
        log-probabilities, ``-inf`` for the missing ones.
    """
    B, T, K = log_probs.shape
    W = beam_width
    dev = log_probs.device
    lp = log_probs.float()
    neg = torch.tensor(NEG_INF, device=dev)
    prefix = torch.full((B, W, max(T, 1)), -1, dtype=torch.long, device=dev)
    length = torch.zeros(B, W, dtype=torch.long, device=dev)
    last = torch.full((B, W), -1, dtype=torch.long, device=dev)
    pb = torch.full((B, W), NEG_INF, device=dev)
    pb[:, 0] = 0.0
    pnb = torch.full((B, W), NEG_INF, device=dev)
    classes = torch.arange(K, device=dev)
    not_blank = classes != blank
    batch = torch.arange(B, device=dev)[:, None]

    for t in range(T):
        lp_t = lp[:, t]  # (B, K)
        total = torch.logaddexp(pb, pnb)
        alive = total > NEG_INF
        has_last = last >= 0
        last_c = last.clamp(min=0)

        stay_pb = total + lp_t[:, blank, None]
        stay_pnb = torch.where(has_last, pnb + lp_t.gather(1, last_c), neg)
        # A repeat of the last character only starts a new one after a blank.
        same = classes[None, None] == last[..., None]  # (B, W, K)
        ext = torch.where(same, pb[..., None], total[..., None]) + lp_t[:, None]
        ext = ext.masked_fill(~not_blank[None, None], NEG_INF)

        # Merge "beam w + char c" into beam v when v already is that prefix:
        # v's parent (v without its last char) equals w.
        parent = prefix.scatter(2, (length - 1).clamp(min=0)[..., None],
                                torch.full_like(length[..., None], -1))
        match = (parent[:, :, None] == prefix[:, None]).all(-1)  # (B, v, w)
        match &= (alive & has_last)[..., None]
        ext_to_v = ext.gather(2, last_c[:, None].expand(B, W, W)).transpose(1, 2)
        merged = torch.where(match, ext_to_v, neg).logsumexp(-1)  # (B, v)
        stay_pnb = torch.logaddexp(stay_pnb, merged)
        onehot = torch.nn.functional.one_hot(last_c, K).float() * has_last[..., None]
        taken = torch.einsum('bvw,bvk->bwk', match.float(), onehot) > 0
        ext = ext.masked_fill(taken, NEG_INF)

        cand = torch.cat([torch.logaddexp(stay_pb, stay_pnb), ext.flatten(1)], 1)
        _, idx = cand.topk(W, dim=1)
        is_ext = idx >= W
        src = torch.where(is_ext, (idx - W) // K, idx)
        char = torch.where(is_ext, (idx - W) % K, torch.full_like(idx, -1))
        ext_sel = ext.flatten(1).gather(1, (idx - W).clamp(min=0))
        pb = torch.where(is_ext, neg, stay_pb.gather(1, src))
        pnb = torch.where(is_ext, ext_sel, stay_pnb.gather(1, src))
        prefix = prefix[batch, src]
        old_len = length.gather(1, src)
        pos = old_len.clamp(max=prefix.size(2) - 1)[..., None]
        prefix = prefix.scatter(2, pos, torch.where(is_ext[..., None], char[..., None],
                                                    prefix.gather(2, pos)))
        length = old_len + is_ext.long()
        last = torch.where(is_ext, char, last.gather(1, src))

    total = torch.logaddexp(pb, pnb)
    k = min(topk, W)
    scores, order = total.topk(k, dim=1)
    if topk > k:
        scores = torch.cat([scores, scores.new_full((B, topk - k), NEG_INF)], 1)
    prefix, length = prefix.cpu(), length.cpu()
    # read on the host once: a test of scores[b, j] on the GPU waited for it
    # once per hypothesis (B x k synchronisations a call)
    found = (scores[:, :k] > NEG_INF).cpu().tolist()
    seqs = []
    for b, row in enumerate(order.cpu().tolist()):
        hyps = [prefix[b, w, :length[b, w]].tolist() if found[b][j] else []
                for j, w in enumerate(row)]
        seqs.append(hyps + [[] for _ in range(topk - k)])
    return seqs, scores
