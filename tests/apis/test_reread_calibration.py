"""The reread cascade replayed from per-scale readings, and its calibration."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import Runner
from tiny_dld import SCALES

from dld.apis.model_loading import init_model
from dld.apis.reread_calibration import (
    ScaleReadings,
    calibrate,
    candidate_chains,
    collect_readings,
    replay,
)


def _readings():
    """Four images, scales 0.3 < 0.5 < 1.0 costing 0.1, 0.3 and 1.0 of the teacher."""
    return ScaleReadings(
        scales=[0.3, 0.5, 1.0], first=np.array([0, 0, 1, 0]),
        correct=np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=bool),
        score=np.array([[.9, .9, .9], [.4, .8, .9], [.6, .3, .9], [.2, .2, .2]]),
        cost=np.array([0.1, 0.3, 1.0]), selector_cost=0.01)


def test_replay_follows_the_cascade_by_hand():
    r = replay(_readings(), 0.5, [1.0, 0.5])
    # image 0 keeps 0.3; image 1 rereads at 0.5 (0.8 >= 0.5, stops); image 2 starts
    # at 0.5, 0.3 < 0.5 -> 1.0; image 3 goes 0.3 -> 0.5 -> 1.0 and is still wrong.
    assert r.scales == (0.5, 1.0)
    assert r.accuracy == pytest.approx(3 / 4)
    costs = [0.1, 0.1 + 0.3, 0.3 + 1.0, 0.1 + 0.3 + 1.0]
    assert r.relative_flops == pytest.approx(0.01 + sum(costs) / 4)
    assert r.reread_fraction == pytest.approx(3 / 4)
    alone = replay(_readings(), 0.0, [1.0])
    assert (alone.accuracy, alone.reread_fraction) == (0.25, 0.0)
    assert alone.relative_flops == pytest.approx(0.01 + (0.1 * 3 + 0.3) / 4)


def test_calibrate_takes_the_most_accurate_setting_within_the_budget():
    readings = _readings()
    assert candidate_chains(readings.scales) == [(0.5,), (1.0,), (0.5, 1.0)]
    best, per_chain = calibrate(readings, max_relative_flops=0.6, confidence=0.5)
    # Within 0.6: rereading image 1 at 0.5 (p 0.4) reads 2 of 4; adding image 2
    # at 1.0 would cost 1.3 for it alone, too much.
    assert best.accuracy == pytest.approx(0.5)
    assert best.relative_flops <= 0.6
    assert 0.4 < best.min_score <= 0.6 and 0.5 in best.scales
    assert per_chain[0] == best and len(per_chain) == 3
    rich, _ = calibrate(readings, max_relative_flops=2.0, confidence=0.5)
    assert rich.accuracy == pytest.approx(0.75)
    assert calibrate(readings, max_relative_flops=0.05) == (None, [])
    with pytest.raises(ValueError, match='not candidate scales'):
        calibrate(readings, 1.0, chains=[(0.7,)])


def test_the_budget_is_held_with_confidence_over_tracks():
    readings = _readings()
    r = replay(readings, 0.5, [0.5])  # costs 0.1, 0.4, 0.3, 0.4 (+ 0.01 each)
    assert r.flops_std_error == pytest.approx(np.std([0.1, 0.4, 0.3, 0.4], ddof=1) / 2)
    readings.group = np.array([0, 0, 1, 1])  # two tracks: means 0.25 and 0.35
    r = replay(readings, 0.5, [0.5])
    assert r.relative_flops == pytest.approx(0.31)
    assert r.flops_std_error == pytest.approx(np.std([0.25, 0.35], ddof=1) / np.sqrt(2))
    assert r.flops_bound(0.5) == r.relative_flops
    assert r.flops_bound(0.95) == pytest.approx(0.31 + 1.6449 * r.flops_std_error, abs=1e-4)
    # Within a 0.32 budget on the mean, reading image 1 again fits; its bound does not.
    assert calibrate(readings, 0.32, chains=[(0.5,)], confidence=0.5)[0].accuracy == 0.5
    cautious, _ = calibrate(readings, 0.32, chains=[(0.5,)], confidence=0.95)
    assert cautious.accuracy == 0.25 and cautious.flops_bound(0.95) <= 0.32
    # One track gives no error to bound with: no bound above the mean is claimed
    # (it was the plain mean at any confidence)
    readings.group = np.zeros(4, dtype=int)
    one = replay(readings, 0.5, [0.5])
    assert one.flops_bound(0.95) == np.inf and one.flops_bound(0.5) == pytest.approx(0.31)
    assert one.as_dict()['flops_std_error'] is None  # JSON has no Infinity


def _pin_selector(model, batches):
    """Make the selector send the darker half of the images to the smallest scale
    and the rest to the largest, whatever the briefly trained selector learnt, so
    that some images can reread and some cannot (a per-image rule, as the real one)."""
    def brightness(inputs):
        return inputs.float().mean(dim=(1, 2, 3))

    seen = torch.cat([brightness(model.data_preprocessor(copy.deepcopy(b), False)['inputs'])
                      for b in batches])
    cut = seen.median()
    small, large = model.scales.index(min(model.scales)), model.scales.index(max(model.scales))

    def selector_logits(inputs):  # decide()'s argmax picks the pinned scale
        chosen = torch.where(brightness(inputs) <= cut, small, large)
        return 10.0 * F.one_hot(chosen, len(model.scales)).float()

    model.selector_logits = selector_logits


@pytest.mark.slow
def test_replay_equals_running_the_cascade(tiny_run):
    """Replaying the table gives what DLDDistiller.predict computes with reread on."""
    model, cfg = init_model(tiny_run['config'], tiny_run['student'])
    batches = list(Runner.build_dataloader(cfg.test_dataloader, seed=0))
    _pin_selector(model, batches)
    readings = collect_readings(model, batches)
    assert readings.scales == sorted(SCALES)
    assert set(readings.first.tolist()) == {0, len(SCALES) - 1}
    chain = sorted(SCALES)[1:]
    starts_small = readings.first == 0
    first_scores = np.unique(readings.score[starts_small, 0])
    assert len(first_scores) > 1
    min_score = float(first_scores[len(first_scores) // 2])  # some images are sure, some not
    expected = replay(readings, min_score, chain)
    assert 0 < expected.reread_fraction < 1
    correct, gflops = [], []
    for batch in batches:
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        out = model.predict(data['inputs'], data['data_samples'],
                            reread=dict(min_score=min_score, scales=chain))
        correct += [d.pred_text.upper() == d.gt_text.upper() for d in out]
        gflops += [d.pred_gflops for d in out]
    teacher = model.costs.teacher_flops / 1e9
    assert np.mean(correct) == pytest.approx(expected.accuracy)
    assert np.mean(gflops) / teacher == pytest.approx(expected.relative_flops)


def test_the_bound_holds_for_tracks_of_unequal_lengths():
    """Half the tracks are 12 frames long and cost 0.2 or 1.0 of the teacher as a
    whole, the others are one frame at 0.2: the mean FLOPs of a set of such
    tracks varies with its long ones. Its standard error, estimated from one
    set, must match how much the mean varies over many sets."""
    rng = np.random.default_rng(0)
    means, errors = [], []
    for _ in range(300):
        long = rng.random(60) < 0.5
        frames = np.where(long, 12, 1)
        first = np.repeat(np.where(long, rng.random(60) < 0.5, 0), frames).astype(np.int64)
        n = len(first)
        readings = ScaleReadings(
            scales=[0.5, 1.0], first=first, correct=np.ones((n, 2), dtype=bool),
            score=np.ones((n, 2)), cost=np.array([0.2, 1.0]), selector_cost=0.0,
            group=np.repeat(np.arange(60), frames))
        r = replay(readings, 0.0, ())
        means.append(r.relative_flops)
        errors.append(r.flops_std_error)
    assert np.mean(errors) == pytest.approx(np.std(means), rel=0.15)
