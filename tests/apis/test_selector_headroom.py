"""The oracle's choice, the AUC, probes and the policies judged against the oracle."""
import itertools

import numpy as np
import pytest

from dld.apis.oracle_selection import oracle_choice
from dld.apis.reread_calibration import ScaleReadings
from dld.apis.selector_headroom import (
    best_accuracy_within,
    cheapest_at_accuracy,
    fit_correctness_probe,
    probe_aucs,
    probe_frontier,
    probe_probabilities,
    roc_auc,
    score_aucs,
    smallest_first_frontier,
    threshold_policy,
)


def _brute_force_oracle(correct, cost, num_correct):
    """The cheapest assignment reading at least ``num_correct`` right, by enumeration."""
    best = None
    for choice in itertools.product(range(correct.shape[1]), repeat=len(correct)):
        right = sum(correct[i, k] for i, k in enumerate(choice))
        total = sum(cost[k] for k in choice)
        if right >= num_correct and (best is None or total < best - 1e-12):
            best = total
    return best


def test_oracle_choice_is_the_cheapest_assignment():
    rng = np.random.default_rng(0)
    cost = np.array([0.1, 0.25, 0.4, 1.0])
    for _ in range(20):
        correct = rng.random((5, 4)) < np.array([0.3, 0.5, 0.7, 0.9])
        free = oracle_choice(correct, cost)
        rows = np.arange(5)
        for i in rows:  # cheapest right scale, else the cheapest
            right = np.flatnonzero(correct[i])
            assert free[i] == (right[0] if len(right) else 0)
        reachable = int(correct.any(1).sum())
        # the floor at the most plates any choice reads
        assert cost[free].sum() == pytest.approx(_brute_force_oracle(correct, cost, reachable))
        for n in range(reachable + 1):
            chosen = oracle_choice(correct, cost, n)
            assert correct[rows, chosen].sum() >= n
            assert cost[chosen].sum() == pytest.approx(_brute_force_oracle(correct, cost, n))


def test_oracle_choice_rejects_costs_out_of_order():
    with pytest.raises(ValueError, match='ascending cost'):
        oracle_choice(np.ones((2, 2), bool), np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match='expected'):
        oracle_choice(np.ones((2, 2), bool), np.array([1.0]))


def test_roc_auc_counts_pairs_and_ties():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0
    # pairs (pos, neg): (0.5 vs 0.5) ties -> 0.5, (0.5 vs 0.2) -> 1, (0.9 vs both) -> 2
    assert roc_auc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.2]) == pytest.approx(3.5 / 4)
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))
    # a NaN score is the least sure, not (sorted last) the surest
    assert roc_auc([1, 0, 1], [0.9, float('nan'), 0.5]) == 1.0


def test_threshold_policy_reads_at_the_smallest_sure_scale():
    prob = np.array([[0.9, 0.95, 1.0], [0.2, 0.85, 0.9], [0.1, 0.2, 0.3]])
    assert threshold_policy(prob, 0.8).tolist() == [0, 1, 2]
    assert threshold_policy(prob, 0.92).tolist() == [1, 2, 2]


def _readings(n=400, seed=0):
    """Images whose brightness says whether the student reads them at the small scale."""
    rng = np.random.default_rng(seed)
    bright = rng.random(n) < 0.5
    thumbs = rng.normal(0, 0.3, (n, 1, 4, 12)) + np.where(bright, 1.0, -1.0)[:, None, None, None]
    correct = np.stack([bright, np.ones(n, bool)], axis=1)
    score = np.where(correct, 0.9, 0.4) + rng.normal(0, 0.05, (n, 2))
    return ScaleReadings(scales=[0.5, 1.0], first=np.ones(n, np.int64), correct=correct,
                         score=score, cost=np.array([0.25, 1.0]), selector_cost=0.0,
                         thumbs={(4, 12): thumbs.astype(np.float16)})


@pytest.mark.slow
def test_a_probe_learns_what_its_thumbnail_shows_and_is_judged_against_the_oracle():
    fit, ev = _readings(seed=0), _readings(seed=1)
    probe = fit_correctness_probe(fit.thumbs[(4, 12)], fit.correct, fit.scales,
                                  channels=(4,), epochs=15, batch_size=64, lr=1e-2)
    prob = probe_probabilities(probe, ev.thumbs[(4, 12)])
    assert probe_aucs(ev, prob)[0] > 0.95
    points = probe_frontier(ev, prob, 0.01, 'probe', (0.5, 0.9))
    # it sends the bright half to 0.5x and the rest to 1.0x: everything right,
    # at the oracle's cost plus its own
    best = best_accuracy_within(points, 1.15)
    assert best.accuracy == 1.0
    assert best.oracle_flops == pytest.approx(np.mean(np.where(ev.correct[:, 0], 0.25, 1.0)))
    assert best.relative_flops == pytest.approx(best.oracle_flops + 0.01, abs=0.02)
    assert cheapest_at_accuracy(points, 1.0).relative_flops <= best.relative_flops + 1e-12
    assert cheapest_at_accuracy(points, 1.01) is None


def test_smallest_scale_first_pays_one_small_read_for_every_image():
    ev = _readings(seed=2)
    assert score_aucs(ev)[0] == 1.0
    point = smallest_first_frontier(ev, (0.65,))[0]
    small = ev.correct[:, 0]
    assert point.accuracy == 1.0
    assert point.relative_flops == pytest.approx(0.25 + 1.0 * (~small).mean())
    assert point.oracle_ratio > 1.0
