"""Beam searches equal exhaustive enumeration when the beam is wide enough."""
import itertools

import pytest
import torch

from dld.models.decoders import attention_beam_search, ctc_prefix_beam_search
from dld.registry import MODELS


def ctc_exhaustive(log_probs: torch.Tensor, blank: int) -> dict:
    """{label tuple: log p} by summing every alignment of a ``(T, K)`` matrix."""
    T, K = log_probs.shape
    per_label = {}
    for path in itertools.product(range(K), repeat=T):
        labels, prev = [], None
        for p in path:
            if p != prev and p != blank:
                labels.append(p)
            prev = p
        score = log_probs[torch.arange(T), torch.tensor(path)].sum()
        per_label.setdefault(tuple(labels), []).append(score)
    return {k: torch.stack(v).logsumexp(0).item() for k, v in per_label.items()}


def assert_topk_matches(seqs, scores, exact: dict, k: int):
    best = sorted(exact.items(), key=lambda kv: -kv[1])[:k]
    assert scores.tolist() == pytest.approx([s for _, s in best], abs=1e-4)
    for seq, score in zip(seqs, scores.tolist()):
        assert exact[tuple(seq)] == pytest.approx(score, abs=1e-4)
    assert len({tuple(s) for s in seqs}) == k, 'duplicate hypotheses'


@pytest.mark.parametrize('blank', [2, 0])
def test_ctc_prefix_beam_search_equals_enumeration_of_alignments(blank):
    torch.manual_seed(0)
    B, T, K, k = 3, 5, 3, 6
    log_probs = (torch.randn(B, T, K) * 2).log_softmax(-1)
    seqs, scores = ctc_prefix_beam_search(log_probs, blank=blank, beam_width=64, topk=k)
    assert scores.shape == (B, k)
    for b in range(B):
        assert_topk_matches(seqs[b], scores[b], ctc_exhaustive(log_probs[b], blank), k)


def test_ctc_prefix_beam_search_pads_missing_hypotheses_with_minus_inf():
    log_probs = torch.tensor([[[0.0, float('-inf')]]])  # one frame, always char 0
    seqs, scores = ctc_prefix_beam_search(log_probs, blank=1, beam_width=4, topk=3)
    assert seqs[0][0] == [0] and scores[0, 0].item() == pytest.approx(0.0)
    assert torch.isinf(scores[0, 1:]).all() and seqs[0][1:] == [[], []]


def test_ctc_narrow_beam_returns_sorted_lower_bounds():
    torch.manual_seed(1)
    log_probs = torch.randn(2, 6, 3).log_softmax(-1)
    seqs, scores = ctc_prefix_beam_search(log_probs, blank=2, beam_width=2, topk=2)
    assert (scores[:, 0] >= scores[:, 1]).all()
    for b in range(2):
        exact = ctc_exhaustive(log_probs[b], 2)
        for seq, s in zip(seqs[b], scores[b].tolist()):
            assert s <= exact[tuple(seq)] + 1e-5


def small_attention_decoder(cell: str):
    decoder = MODELS.build(dict(
        type='AttentionDecoder', in_channels=8, cell=cell, d_model=16, num_layers=1,
        num_heads=2, dropout=0.0, max_seq_len=4, dictionary=dict(type='Dictionary', chars='AB')))
    with torch.no_grad():  # peaky step distributions: no near-ties in the ranking
        decoder.classifier.weight.mul_(4)
    return decoder.eval()


@pytest.mark.parametrize('cell', ['transformer', 'gru', 'lstm'])
def test_attention_beam_search_equals_enumeration_of_sequences(cell):
    torch.manual_seed(0)
    decoder = small_attention_decoder(cell)
    B, k = 2, 5
    memory = torch.randn(B, 5, 8)
    # every string of 0..3 characters over {A, B}, each ended by EOS
    candidates = [list(s) for n in range(decoder.max_seq_len)
                  for s in itertools.product(range(2), repeat=n)]
    seqs, scores = decoder.beam_search(memory, beam_width=8, topk=k)
    assert scores.shape == (B, k)
    for b in range(B):
        with torch.no_grad():
            nll = decoder.sequence_nll(memory[b:b + 1].expand(len(candidates), -1, -1),
                                       candidates)
        exact = {tuple(c): -v for c, v in zip(candidates, nll.tolist())}
        assert sum(torch.tensor(list(exact.values())).exp()) <= 1.0 + 1e-5
        assert_topk_matches(seqs[b], scores[b], exact, k)


def test_attention_beam_search_returns_fewer_than_k_as_minus_inf():
    # a model that ends immediately with probability 1: only '' exists
    def step_fn(prev, state):
        lp = torch.full((prev.size(0), 3), float('-inf'))
        lp[:, 2] = 0.0
        return lp, state

    seqs, scores = attention_beam_search(step_fn, (torch.zeros(2 * 3, 1),), batch_size=2,
                                         beam_width=3, topk=2, max_len=4, start_idx=2,
                                         end_idx=2)
    assert seqs == [[[], []], [[], []]]
    assert scores[:, 0].tolist() == [0.0, 0.0] and torch.isinf(scores[:, 1]).all()


@pytest.mark.parametrize('cell', ['transformer', 'gru'])
def test_attention_greedy_score_is_the_sequence_log_probability(cell):
    torch.manual_seed(0)
    decoder = small_attention_decoder(cell)
    memory = torch.randn(3, 5, 8)
    seqs, scores = decoder.greedy_search(memory)
    nll = decoder.sequence_nll(memory, [s[0] for s in seqs])
    assert scores[:, 0].tolist() == pytest.approx((-nll).tolist(), abs=1e-4)
    assert all(len(s[0]) <= decoder.max_seq_len - 1 for s in seqs)


def test_ctc_greedy_score_sums_over_alignments():
    torch.manual_seed(0)
    decoder = MODELS.build(dict(type='CTCDecoder', in_channels=8,
                                dictionary=dict(type='Dictionary', chars='AB'))).eval()
    memory = torch.randn(2, 4, 8)
    seqs, scores = decoder.greedy_search(memory)
    log_probs = decoder(memory)[0].log_softmax(-1)
    for b in range(2):
        exact = ctc_exhaustive(log_probs[b].detach(), decoder.dictionary.blank_idx)
        assert scores[b, 0].item() == pytest.approx(exact[tuple(seqs[b][0])], abs=1e-4)



def _identity_ctc_decoder():
    """A CTC decoder over 'AB' (blank 2) whose logits are its input."""
    decoder = MODELS.build(dict(type='CTCDecoder', in_channels=3,
                                dictionary=dict(type='Dictionary', chars='AB'))).eval()
    with torch.no_grad():
        decoder.classifier.weight.copy_(torch.eye(3))
        decoder.classifier.bias.zero_()
    return decoder


@pytest.mark.parametrize('logits, greedy_text, kept', [
    # the greedy text survives at width 2, but below 'B' by the beam's lower
    # bound: it was not rescored for topk=1
    ([[-1.9, -4.5, 2.9], [-1.0, -0.2, -3.6], [-0.6, -1.1, 0.9], [-0.7, -1.4, 2.6],
      [-0.4, -1.7, -0.4]], [1, 0], [[1], [1, 0]]),
    # the greedy text 'AB' falls out of the beam; 'A' and 'B' are less likely
    ([[-1.6, -4.4, 2.9], [1.4, 0.2, 1.8], [1.7, 1.7, -2.0], [0.6, 1.1, 1.0]], [0, 1],
     [[0], [1]]),
])
def test_a_ctc_beam_never_reads_a_less_likely_text_than_greedy_decoding(logits, greedy_text,
                                                                        kept):
    """A beam of 2 read a less likely text than greedy decoding: the survivors
    were rescored only down to ``topk``, and the best path's text could be
    pruned (a prefix out of the beam at one frame is lost)."""
    decoder = _identity_ctc_decoder()
    logits = torch.tensor([logits])
    exact = ctc_exhaustive(logits[0].log_softmax(-1), blank=2)
    greedy, greedy_scores = decoder.greedy_search(logits)
    assert greedy[0][0] == greedy_text
    survivors, _ = ctc_prefix_beam_search(logits.log_softmax(-1), 2, beam_width=2, topk=2)
    assert survivors[0] == kept  # what the search alone keeps, by its lower bounds
    assert exact[tuple(greedy_text)] > max(exact[tuple(h)] for h in kept if h != greedy_text)
    for topk in (1, 2, 3):
        seqs, scores = decoder.beam_search(logits, beam_width=2, topk=topk)
        assert seqs[0][0] == greedy_text
        assert scores[0, 0] >= greedy_scores[0, 0] - 1e-5
        real = [h for h, s in zip(seqs[0], scores[0].tolist()) if s > float('-inf')]
        assert scores[0, :len(real)].tolist() == pytest.approx(
            [exact[tuple(h)] for h in real], abs=1e-4)
        assert scores[0].tolist() == sorted(scores[0].tolist(), reverse=True)
        candidates = {tuple(h) for h in kept} | {tuple(greedy_text)}
        assert len({tuple(h) for h in real}) == len(real) == min(topk, len(candidates))


def test_a_ctc_beam_keeps_its_readings_where_greedy_s_text_is_among_them():
    """No duplicate where the beam kept the best path's text, and the beam's
    texts as they were where it is less likely than every one of them."""
    torch.manual_seed(0)
    decoder = _identity_ctc_decoder()
    logits = 3 * torch.randn(16, 5, 3)
    greedy, greedy_scores = decoder.greedy_search(logits)
    seqs, scores = decoder.beam_search(logits, beam_width=4, topk=4)
    for b in range(16):
        found = [tuple(h) for h, s in zip(seqs[b], scores[b].tolist()) if s > float('-inf')]
        assert len(found) == len(set(found))
        assert scores[b, 0] >= greedy_scores[b, 0] - 1e-5


def textbook_prefix_beam_search(log_probs: torch.Tensor, blank: int, width: int) -> list:
    """``[(log p, prefix)]`` best first: one dict of prefixes per frame,
    merged by key, cut to ``width``; the plain form of the batched search."""
    def add(table, prefix, pb, pnb):
        old = table.get(prefix, (float('-inf'), float('-inf')))
        table[prefix] = (float(torch.tensor([old[0], pb]).logsumexp(0)),
                         float(torch.tensor([old[1], pnb]).logsumexp(0)))

    beams = {(): (0.0, float('-inf'))}
    for lp in log_probs.tolist():
        new = {}
        for prefix, (pb, pnb) in beams.items():
            total = float(torch.tensor([pb, pnb]).logsumexp(0))
            add(new, prefix, total + lp[blank], float('-inf'))
            if prefix:
                add(new, prefix, float('-inf'), pnb + lp[prefix[-1]])
            for c, lp_c in enumerate(lp):
                if c != blank:
                    repeat = bool(prefix) and prefix[-1] == c
                    add(new, prefix + (c,), float('-inf'), (pb if repeat else total) + lp_c)
        ranked = sorted(new.items(), key=lambda kv: -torch.tensor(kv[1]).logsumexp(0))
        beams = dict(ranked[:width])
    return [(float(torch.tensor(v).logsumexp(0)), list(k)) for k, v in beams.items()]


@pytest.mark.parametrize('width', [1, 2, 3])
@pytest.mark.parametrize('blank', [0, 2])
def test_narrow_ctc_prefix_beam_search_keeps_what_the_textbook_search_keeps(width, blank):
    torch.manual_seed(width + 10 * blank)
    log_probs = (3 * torch.randn(2, 6, 3)).log_softmax(-1)
    seqs, scores = ctc_prefix_beam_search(log_probs, blank, width, topk=width)
    for b in range(2):
        expected = textbook_prefix_beam_search(log_probs[b], blank, width)
        assert seqs[b] == [s for _, s in expected]
        assert scores[b].tolist() == pytest.approx([s for s, _ in expected], abs=1e-4)
