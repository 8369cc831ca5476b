"""Beam search for autoregressive decoders, batched as B * beam rows."""
from typing import Callable, List, Sequence, Tuple

import torch

NEG_INF = float('-inf')

StepFn = Callable[[torch.Tensor, Tuple[torch.Tensor, ...]],
                  Tuple[torch.Tensor, Tuple[torch.Tensor, ...]]]


@torch.no_grad()
def attention_beam_search(step_fn: StepFn, state: Sequence[torch.Tensor], batch_size: int,
                          beam_width: int, topk: int, max_len: int, start_idx: int,
                          end_idx: int, truncated: bool = False
                          ) -> Tuple[List[List[List[int]]], torch.Tensor]:
    """Top-k finished sequences of an autoregressive model.

    Rows of the decoder state are ``b * beam_width + j`` (beam j of image b);
    after each step they are re-gathered from their parent beams. A
    hypothesis finishes when it emits EOS; at step ``max_len - 1`` only EOS
    is allowed, so every returned sequence has at most ``max_len - 1``
    characters and its score is the full ``log p(chars, EOS | x)``. Search
    stops early once no open beam can beat the k-th finished one (scores
    only fall as sequences grow), so it is exact when the beam can hold
    every open prefix.

    Args:
        step_fn: ``(prev_tokens (B*W,), state) -> (log_probs (B*W, K), state)``;
            every state tensor has ``B*W`` rows.
        state: initial state, already ``B*W`` rows.
        batch_size, beam_width, topk, max_len: B, W, k, L.
        start_idx, end_idx: start and end tokens (may be the same index).
        truncated: also return ``(B, k)`` bool: whether each hypothesis was
            ended at step ``max_len - 1`` where the model's most likely
            token was not EOS (a reading cut short).

    Returns:
        ``seqs``: B lists of k label lists, best first (``[]`` where fewer
        than k exist); ``scores (B, k)`` log-probabilities (``-inf`` there);
        and with ``truncated``, the flags.
    """
    B, W = batch_size, beam_width
    state = tuple(state)
    dev = state[0].device if state else torch.device('cpu')
    scores = torch.full((B, W), NEG_INF, device=dev)
    scores[:, 0] = 0.0
    tokens = torch.full((B, W, max_len - 1), -1, dtype=torch.long, device=dev)
    prev = torch.full((B * W,), start_idx, dtype=torch.long, device=dev)
    fin_scores, fin_seqs = [], []
    cut_last = None  # (B, W): the last step's hypotheses the model would have read on
    offsets = (torch.arange(B, device=dev) * W)[:, None]

    for t in range(max_len):
        log_probs, state = step_fn(prev, state)
        K = log_probs.size(-1)
        cand = scores[..., None] + log_probs.float().view(B, W, K)
        fin_scores.append(cand[:, :, end_idx].clone())
        fin_seqs.append(tokens)
        if t == max_len - 1:
            cut_last = log_probs.view(B, W, K).argmax(-1) != end_idx
            break
        done = torch.cat(fin_scores, 1)
        if done.size(1) >= topk:
            kth = done.topk(topk, dim=1).values[:, -1]
            if bool((scores.max(1).values <= kth).all()):
                break
        cand[:, :, end_idx] = NEG_INF
        scores, idx = cand.view(B, W * K).topk(W, dim=1)
        src, tok = idx // K, idx % K
        tokens = tokens.gather(1, src[..., None].expand(-1, -1, max_len - 1)).clone()
        tokens[:, :, t] = tok
        rows = (offsets + src).view(-1)
        state = tuple(s.index_select(0, rows) for s in state)
        prev = tok.view(-1)

    done = torch.cat(fin_scores, 1)  # (B, n*W)
    seqs_all = torch.cat(fin_seqs, 1)  # (B, n*W, L-1)
    k = min(topk, done.size(1))
    top, order = done.topk(k, dim=1)
    if topk > k:
        top = torch.cat([top, top.new_full((B, topk - k), NEG_INF)], 1)
    # One copy to the host: reading ``top`` per hypothesis on a GPU waited
    # for the device B * k times.
    seqs_all = seqs_all.gather(1, order[..., None].expand(-1, -1, max_len - 1)).tolist()
    found = (top[:, :k] > NEG_INF).tolist()
    out = []
    for b in range(B):
        hyps = [[i for i in seqs_all[b][j] if i >= 0] if found[b][j] else [] for j in range(k)]
        out.append(hyps + [[] for _ in range(topk - k)])
    if not truncated:
        return out, top
    # only the last step's hypotheses can be cut: the last W of ``done``
    cut = torch.zeros(done.shape, dtype=torch.bool, device=dev)
    if cut_last is not None:
        cut[:, -W:] = cut_last
    cut = cut.gather(1, order) & (top[:, :k] > NEG_INF)
    if topk > k:
        cut = torch.cat([cut, cut.new_zeros((B, topk - k))], 1)
    return out, top, cut
