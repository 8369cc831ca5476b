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


def test_paramwise_lr_multipliers_are_kept():
    # optim_wrapper.paramwise_cfg's lr_mult (a backbone frozen with lr_mult=0
    # while fine-tuning): MMEngine's schedule gave every group eta_max.
    frozen, half, rest = (torch.nn.Parameter(torch.ones(2)) for _ in range(3))
    optimizer = torch.optim.AdamW([dict(params=[frozen], lr=0.0), dict(params=[half], lr=0.05),
                                   dict(params=[rest])], lr=0.1, weight_decay=0.01)
    scheduler = OneCycleLR(optimizer, eta_max=1e-2, total_steps=20, pct_start=0.25)
    peaks = []
    for _ in range(20):
        (frozen.sum() + half.sum() + rest.sum()).backward()
        optimizer.step()
        optimizer.zero_grad()
        peaks.append([g['lr'] for g in optimizer.param_groups])
        scheduler.step()
    top = [max(p[i] for p in peaks) for i in range(3)]
    assert top[0] == 0.0 and top[1] == pytest.approx(5e-3) and top[2] == pytest.approx(1e-2)
    assert torch.equal(frozen.detach(), torch.ones(2))  # no step, no weight decay
    assert not torch.equal(rest.detach(), torch.ones(2))


def test_a_list_of_peaks_is_taken_as_given():
    a, b = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([dict(params=[a], lr=0.0), dict(params=[b])], lr=0.1)
    OneCycleLR(optimizer, eta_max=[0.2, 0.4], total_steps=10, pct_start=0.3)
    assert [g['max_lr'] for g in optimizer.param_groups] == [0.2, 0.4]


def test_a_scheduler_built_before_does_not_scale_the_peaks():
    """A LinearLR warm-up before it (begin=0) had set each group's lr to
    start_factor x lr when OneCycleLR read the groups' multipliers from
    them: every peak was start_factor x eta_max. And a second OneCycleLR
    read the first one's initial_lr (eta_max / div_factor)."""
    from mmengine.optim.scheduler import LinearLR
    frozen, rest = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.AdamW([dict(params=[frozen], lr=0.0), dict(params=[rest])], lr=1e-3)
    LinearLR(optimizer, start_factor=0.1, begin=0, end=5)
    OneCycleLR(optimizer, eta_max=1e-3, begin=5, end=20, total_steps=15)
    assert [g['max_lr'] for g in optimizer.param_groups] == [0.0, pytest.approx(1e-3)]
    OneCycleLR(optimizer, eta_max=2e-3, begin=20, end=30, total_steps=10)
    assert [g['max_lr'] for g in optimizer.param_groups] == [0.0, pytest.approx(2e-3)]
