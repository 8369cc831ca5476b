"""Measuring a model must leave every submodule in the mode it was in."""
import copy

import torch
import torch.nn as nn
from mmengine.config import Config

from dld.apis.scaled_prediction import RecognizerCosts
from dld.registry import MODELS
from dld.utils import count_flops, evaluating


def mixed_modes():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5)).train()
    model[1].eval()  # e.g. a frozen part inside a training model
    return model


def test_evaluating_restores_each_submodules_own_mode():
    model = mixed_modes()
    before = [m.training for m in model.modules()]
    with evaluating(model):
        assert not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == before
    count_flops(model, torch.zeros(1, 3, 8, 8))
    assert [m.training for m in model.modules()] == before


def test_measuring_a_recognizers_cost_keeps_it_in_eval_mode():
    """The regression: a recognizer in eval mode came out of its first FLOPs count in train
    mode (the fresh wrapper was training), so the report's no-KD baseline then predicted
    with batch statistics and dropout, and its rows changed from run to run."""
    cfg = Config.fromfile('configs/student_plate_lr.py').model.to_dict()
    cfg['backbone']['widths'] = (4, 8, 8, 8)  # a structure no other test has measured
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    state = copy.deepcopy(model.state_dict())
    costs = RecognizerCosts(model, (48, 144))
    assert costs.student_flops_at(0.5) < costs.teacher_flops
    assert not any(m.training for m in model.modules())
    x = torch.randn(2, 3, 48, 144)
    model.predict(x)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), f'{key} changed'
