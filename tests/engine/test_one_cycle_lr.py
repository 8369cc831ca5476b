"""DLD's OneCycleLR: MMEngine's schedule, without its division by zero."""
import pytest
import torch
from mmengine.optim.scheduler import OneCycleLR as MMEngineOneCycleLR
from mmengine.registry import PARAM_SCHEDULERS as ROOT_PARAM_SCHEDULERS
from mmengine.registry import DefaultScope

from dld.engine import OneCycleLR


def lrs_over(scheduler_cls, total_steps, **kwargs):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = scheduler_cls(optimizer, eta_max=0.1, total_steps=total_steps, **kwargs)
    lrs = [optimizer.param_groups[0]['lr']]
    for _ in range(total_steps - 1):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]['lr'])
    return lrs


def test_configs_of_the_dld_scope_get_it():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with DefaultScope.overwrite_default_scope('dld'):
        scheduler = ROOT_PARAM_SCHEDULERS.build(
            dict(type='OneCycleLR', optimizer=optimizer, eta_max=0.1, total_steps=10,
                 pct_start=0.1))
    assert isinstance(scheduler, OneCycleLR)


@pytest.mark.parametrize('three_phase', [False, True])
def test_a_warm_up_of_one_step_starts_at_the_peak(three_phase):
    # pct_start * total_steps == 1: MMEngine divides by zero building it.
    with pytest.raises(ZeroDivisionError):
        lrs_over(MMEngineOneCycleLR, 10, pct_start=0.1, three_phase=three_phase)
    lrs = lrs_over(OneCycleLR, 10, pct_start=0.1, three_phase=three_phase)
    assert lrs[0] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert lrs[-1] < 1e-5


@pytest.mark.parametrize('total_steps,pct_start,three_phase',
                         [(100, 0.1, False), (37, 0.15, False), (20, 0.3, True), (3, 0.5, False)])
def test_every_other_schedule_is_mmengines(total_steps, pct_start, three_phase):
    kwargs = dict(pct_start=pct_start, three_phase=three_phase)
    assert (lrs_over(OneCycleLR, total_steps, **kwargs)
            == lrs_over(MMEngineOneCycleLR, total_steps, **kwargs))
