"""The dispatch counter against fvcore's trace, which it replaced: the
same figure, op for op, on the models the shipped configs build (a
regression here moves every report's GFLOPs and the selector's penalty)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from dld.models.distillers.scale_costs import _RecognizerBeamSearch, _RecognizerInference
from dld.registry import MODELS
from dld.utils import count_flops, scale_input_shapes

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..')


def _both(monkeypatch, module, x):
    counts = []
    for counter in ('dispatch', 'fvcore'):
        monkeypatch.setenv('DLD_FLOP_COUNTER', counter)
        counts.append(count_flops(module, x))
    return counts


@pytest.mark.parametrize('config', ['teacher_plate_hr.py', 'teacher_plate_hr_ctc.py'])
def test_a_shipped_recognizer_counts_as_fvcore_counted_it(monkeypatch, config):
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(osp.join(ROOT, 'configs', config)).model.to_dict())
    reading = _RecognizerInference(model.eval())
    for h, w in scale_input_shapes((48, 144), (1.0, 0.3)):
        dispatch, fvcore = _both(monkeypatch, reading, torch.zeros(1, 3, h, w))
        assert dispatch == fvcore > 0, (config, h, w)
    if config == 'teacher_plate_hr.py':  # the beam search, every hypothesis at every step
        dispatch, fvcore = _both(monkeypatch, _RecognizerBeamSearch(model, 3),
                                 torch.zeros(1, 3, 24, 72))
        assert dispatch == fvcore > 0


def test_the_shipped_selector_counts_as_fvcore_counted_it(monkeypatch):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'dld_plate.py')).model.selector.to_dict()
    selector = MODELS.build(dict(cfg, scales=[1.0, 0.5, 0.3]))
    dispatch, fvcore = _both(monkeypatch, selector, torch.zeros(1, 3, 48, 144))
    assert dispatch == fvcore > 0


def test_an_unknown_counter_is_refused(monkeypatch):
    monkeypatch.setenv('DLD_FLOP_COUNTER', 'fvcor')
    with pytest.raises(ValueError, match="DLD_FLOP_COUNTER='fvcor': one of dispatch, fvcore"):
        count_flops(torch.nn.Linear(2, 2), torch.zeros(1, 2))
