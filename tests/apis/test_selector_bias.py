"""``model.test_cfg.selector_bias``: the trained selector moved along the
accuracy-FLOPs curve after training, and its calibration for a budget."""
import copy
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from repo_scripts import load_script
from tiny_dld import SCALES

from dld.apis.model_loading import init_model, load_config
from dld.apis.reread_calibration import (
    ScaleReadings,
    calibrate_selector_bias,
    collect_readings,
    replay_bias,
)


def _readings():
    """Four images, scales 0.3 < 0.5 < 1.0 costing 0.1, 0.3 and 1.0 of the
    teacher; the selector's logits prefer 1.0, 0.5, 1.0, 0.3."""
    return ScaleReadings(
        scales=[0.3, 0.5, 1.0], first=np.array([2, 1, 2, 0]),
        correct=np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=bool),
        score=np.full((4, 3), 0.5), cost=np.array([0.1, 0.3, 1.0]), selector_cost=0.01,
        logits=np.array([[0.0, 0.5, 1.0], [0.0, 1.0, 0.2], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]]))


def test_replay_bias_by_hand():
    r = replay_bias(_readings(), 0.0)  # the selector itself
    assert r.shares == (0.25, 0.25, 0.5) and r.accuracy == pytest.approx(0.75)
    assert r.relative_flops == pytest.approx(0.01 + (1.0 + 0.3 + 1.0 + 0.1) / 4)
    # w = 1: logits - cost; image 0 prefers 0.5 (0.2 > 0.0 > -0.1)
    r = replay_bias(_readings(), 1.0)
    assert r.bias == pytest.approx((-0.1, -0.3, -1.0))
    assert r.shares == (0.25, 0.5, 0.25) and r.accuracy == pytest.approx(0.75)
    assert replay_bias(_readings(), 100.0).shares == (1.0, 0.0, 0.0)
    assert replay_bias(_readings(), -100.0).shares == (0.0, 0.0, 1.0)


def test_calibration_reaches_budgets_below_and_above_the_selector():
    readings = _readings()
    alone = replay_bias(readings, 0.0)
    best, tried = calibrate_selector_bias(readings, 0.45, confidence=0.5)
    assert best.relative_flops <= 0.45 < alone.relative_flops and best.cost_weight > 0
    assert best.accuracy == pytest.approx(0.75)  # image 0 to 0.5x costs it nothing
    rich, _ = calibrate_selector_bias(readings, 2.0, confidence=0.5)
    assert rich.accuracy == pytest.approx(0.75)
    assert calibrate_selector_bias(readings, 0.05)[0] is None  # below every image at 0.3x
    weights = [r.cost_weight for r in tried]
    assert weights == sorted(weights) and 0.0 in weights


def test_the_bias_shifts_predict_and_replays_exactly(tiny_run):
    model, cfg = init_model(tiny_run['config'], tiny_run['student'])
    batches = list(Runner.build_dataloader(cfg.test_dataloader, seed=0))
    readings = collect_readings(model, batches)
    expected = replay_bias(readings, 3.0)
    bias = [expected.bias[readings.scales.index(float(s))] for s in model.scales]
    model.test_cfg['selector_bias'] = bias
    scales, gflops = [], []
    for batch in batches:
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        out = model.predict(data['inputs'], data['data_samples'])
        scales += [d.pred_scale for d in out]
        gflops += [d.pred_gflops for d in out]
    teacher = model.costs.teacher_flops / 1e9
    assert np.mean(gflops) / teacher == pytest.approx(expected.relative_flops)
    assert tuple(float(np.mean([s == x for s in scales])) for x in readings.scales) == \
        pytest.approx(expected.shares)
    # a large bias on one scale sends every image there; training is not biased
    model.test_cfg['selector_bias'] = [0.0] * (len(SCALES) - 1) + [1e4]
    data = model.data_preprocessor(copy.deepcopy(batches[0]), False)
    assert {d.pred_scale for d in model.predict(data['inputs'], data['data_samples'])} == \
        {float(SCALES[-1])}
    model.train()
    torch.manual_seed(0)
    assert set(model.select(data['inputs'])[1].tolist()) != {len(SCALES) - 1}


@pytest.mark.parametrize('bias,said', [([0.0, 0.0], '3 finite numbers'),
                                       (1.0, '3 finite numbers'),
                                       ('0,0,1', '3 finite numbers'),
                                       ([0.0, float('nan'), 0.0], '3 finite numbers')])
def test_a_bias_is_checked_when_the_model_is_built(tiny_run, bias, said):
    with pytest.raises(ValueError, match=said):
        init_model(load_config(tiny_run['config'], {'model.test_cfg.selector_bias': bias}),
                   tiny_run['student'])


def test_the_tool_prints_options_that_deploy_the_calibrated_bias(tiny_run, tmp_path, capsys):
    tool = load_script('tools/calibrate_reread.py')
    out = tmp_path / 'bias.json'
    # the test split, so that the setting's figures must be what test.py measures
    assert tool.main([tiny_run['config'], tiny_run['student'], '--selector-bias', '--split',
                      'test', '--max-flops', '0.5', '--confidence', '0.5', '--json', str(out),
                      '--device', 'cpu']) == 0
    chosen = json.loads(out.read_text())['chosen']
    assert chosen['relative_flops'] <= 0.5
    option = capsys.readouterr().out.split('--cfg-options ')[-1].split()
    assert option[0].startswith('model.test_cfg.selector_bias=[')
    bias = [float(b) for b in option[0].split('=[')[1].rstrip(']').split(',')]
    model, cfg = init_model(load_config(tiny_run['config'],
                                        {'model.test_cfg.selector_bias': bias}),
                            tiny_run['student'])
    gflops = []
    for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
        data = model.data_preprocessor(batch, False)
        gflops += [d.pred_gflops for d in model.predict(data['inputs'], data['data_samples'])]
    assert np.mean(gflops) / (model.costs.teacher_flops / 1e9) == \
        pytest.approx(chosen['relative_flops'], rel=1e-6)
    assert osp.isfile(out)


def test_a_split_of_one_track_is_said_so_not_that_the_cheapest_scale_costs_more(capsys):
    """One track gives no FLOPs bound: every weight was refused, and the tool
    said even every image at the smallest scale cost more than the budget."""
    from types import SimpleNamespace
    tool = load_script('tools/calibrate_reread.py')
    readings = _readings()
    readings.group = np.zeros(4, dtype=int)
    args = SimpleNamespace(max_flops=0.9, confidence=0.95, split='val', json=None)
    model = SimpleNamespace(test_cfg={}, scales=[1.0, 0.5, 0.3])
    assert tool._calibrate_bias(args, model, readings) == 1
    err = capsys.readouterr().err
    assert 'val holds one track' in err and 'costs more' not in err


def test_the_calibrated_bias_in_model_scales_order(tiny_run):
    """``BiasResult.bias`` is in the readings' ascending order; a notebook
    that set it as ``test_cfg.selector_bias`` of a config whose scales go
    1.0 first sent the images to the dear scales it was to spare."""
    readings = _readings()
    best = replay_bias(readings, 1.0)
    assert best.selector_bias([1.0, 0.5, 0.3]) == pytest.approx([-1.0, -0.3, -0.1])
    with pytest.raises(ValueError, match='not the calibrated scales'):
        best.selector_bias([1.0, 0.6, 0.3])


def test_collect_readings_reads_in_eval_mode_and_leaves_the_mode(tiny_run):
    """A model left in training mode (after runner.train()) sampled its
    selector and moved its BatchNorm statistics with every read."""
    model, cfg = init_model(tiny_run['config'], tiny_run['student'])
    batches = list(Runner.build_dataloader(cfg.test_dataloader, seed=0))
    expected = collect_readings(model, batches)
    stats = {k: v.clone() for k, v in model.state_dict().items() if 'running' in k}
    model.train()
    readings = collect_readings(model, batches)
    assert model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in stats.items())
    assert np.array_equal(readings.first, expected.first)
    with pytest.raises(ValueError, match='no image'):
        collect_readings(model, [])
