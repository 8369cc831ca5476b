"""SelectorCollapseHook: a selector that sends every validation image to one
scale is warned of, naming the scale and the way out."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from log_records import current_log_records

from dld.engine.hooks import SelectorCollapseHook
from dld.registry import HOOKS


class Distiller(nn.Module):

    def __init__(self, train_selector=True, selector=True):
        super().__init__()
        self.selector = nn.Identity() if selector else None
        self.train_selector = train_selector


def runner(**kw):
    return SimpleNamespace(model=Distiller(**kw))


def shares(s1, s06, s04):
    return {'plate/accuracy': 0.5, 'cost/gflops': 0.1, 'cost/mean_scale': 0.7,
            'cost/share_1': s1, 'cost/share_0.6': s06, 'cost/share_0.4': s04}


@pytest.fixture
def warnings():
    with current_log_records() as records:
        yield lambda: [r.getMessage() for r in records if 'collapsed' in r.getMessage()]


def test_registered():
    assert HOOKS.get('SelectorCollapseHook') is SelectorCollapseHook


def test_warns_after_patience_validations_at_the_dearest_scale(warnings):
    hook, r = SelectorCollapseHook(patience=2), runner()
    hook.after_val_epoch(r, shares(1.0, 0.0, 0.0))
    assert warnings() == []
    hook.after_val_epoch(r, shares(1.0, 0.0, 0.0))
    [msg] = warnings()
    assert '100.0% of the validation images to 1x' in msg and 'dearest' in msg
    assert 'raise model.losses.selector.gamma' in msg
    hook.after_val_epoch(r, shares(1.0, 0.0, 0.0))  # said once per collapse
    assert len(warnings()) == 1


def test_cheapest_scale_says_lower_gamma(warnings):
    hook, r = SelectorCollapseHook(patience=1), runner()
    hook.after_val_epoch(r, shares(0.0, 0.005, 0.995))
    [msg] = warnings()
    assert 'to 0.4x' in msg and 'lower model.losses.selector.gamma' in msg


def test_a_spread_resets_the_count(warnings):
    hook, r = SelectorCollapseHook(patience=2), runner()
    for s in (shares(1, 0, 0), shares(0.5, 0.5, 0), shares(1, 0, 0), shares(0, 1, 0)):
        hook.after_val_epoch(r, s)  # another scale is another streak
    assert warnings() == []
    hook.after_val_epoch(r, shares(0, 1, 0))
    [msg] = warnings()
    assert 'to 0.6x' in msg and 'thumbnail' in msg


@pytest.mark.parametrize('kw', [dict(train_selector=False), dict(selector=False)])
def test_frozen_or_absent_selector_is_not_judged(warnings, kw):
    hook, r = SelectorCollapseHook(patience=1), runner(**kw)
    hook.after_val_epoch(r, shares(1, 0, 0))
    assert warnings() == []


def test_no_cost_metric_no_warning(warnings):
    hook = SelectorCollapseHook(patience=1)
    hook.after_val_epoch(runner(), {'plate/accuracy': 0.5})
    assert warnings() == []


@pytest.mark.parametrize('kw', [dict(max_share=0), dict(max_share=1.5), dict(patience=0),
                                dict(patience=True), dict(max_share='0.9')])
def test_bad_settings_refused(kw):
    with pytest.raises(ValueError, match='SelectorCollapseHook'):
        SelectorCollapseHook(**kw)


def test_shipped_dld_configs_carry_it():
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    for name in ('dld_plate.py', 'dld_plate_hr_selector.py', 'dld_plate_selector.py'):
        hooks = Config.fromfile(osp.join(repo, 'configs', name)).custom_hooks
        assert any(h['type'] == 'SelectorCollapseHook' for h in hooks), name
