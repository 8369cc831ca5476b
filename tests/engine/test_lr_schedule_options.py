"""The LR schedule follows the command line as users mean it: auto scaling
reaches a one-cycle peak, and ignored or cut-short settings are named."""
import glob
import math
import os.path as osp

import pytest
from mmengine.config import Config

from dld.engine import lr_schedule_options
from dld.engine.hooks import resumed_schedule_check_hook as hook
from dld.engine.lr_schedule_options import (
    scale_one_cycle_peaks,
    warn_lr_set_by_schedule,
    warn_schedule_outlasting_training,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _cfg(**extra):
    cfg = dict(
        train_dataloader=dict(batch_size=16),
        train_cfg=dict(max_epochs=10),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        param_scheduler=[dict(type='OneCycleLR', eta_max=1e-3, by_epoch=True, end=10)],
        auto_scale_lr=dict(enable=True, base_batch_size=64))
    cfg.update(extra)
    return Config(cfg)


@pytest.fixture
def logged(monkeypatch):
    lines = []
    monkeypatch.setattr(lr_schedule_options, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    return lines


def test_auto_scaling_scales_the_one_cycle_peak_as_mmengine_scales_lr(logged):
    cfg = _cfg()
    assert scale_one_cycle_peaks(cfg, world_size=2) == 0.5  # 2 x 16 / 64
    assert cfg.param_scheduler[0].eta_max == pytest.approx(5e-4)
    assert 'eta_max 0.001 -> 0.0005' in logged[0]
    cfg = _cfg(param_scheduler=dict(type='OneCycleLR', eta_max=[1e-3, 2e-3]))
    scale_one_cycle_peaks(cfg, world_size=8)
    assert cfg.param_scheduler.eta_max == pytest.approx([2e-3, 4e-3])


def test_without_auto_scaling_nothing_changes(logged):
    cfg = _cfg(auto_scale_lr=dict(enable=False, base_batch_size=64))
    assert scale_one_cycle_peaks(cfg, world_size=4) is None
    assert cfg.param_scheduler[0].eta_max == 1e-3 and not logged


def test_an_optimizer_lr_the_schedule_overrides_is_named(logged):
    warn_lr_set_by_schedule(_cfg(), {'train_cfg.max_epochs': 3})
    assert not logged
    warn_lr_set_by_schedule(_cfg(), {'optim_wrapper.optimizer.lr': 1e-4})
    assert 'param_scheduler.0.eta_max instead' in logged[0]
    warn_lr_set_by_schedule(_cfg(param_scheduler=[dict(type='CosineAnnealingLR')]),
                            {'optim_wrapper.optimizer.lr': 1e-4})
    assert len(logged) == 1  # a schedule relative to lr: the lr counts


def test_a_schedule_that_outlasts_training_is_named(logged):
    warn_schedule_outlasting_training(_cfg())
    assert not logged
    warn_schedule_outlasting_training(_cfg(train_cfg=dict(max_epochs=5)))
    assert 'ends at epoch 10, after train_cfg.max_epochs=5' in logged[0]
    assert 'param_scheduler.0.end=5' in logged[0] and 'Gumbel' not in logged[0]
    # a selector's temperature anneals over max_epochs: stopping early changes it
    warn_schedule_outlasting_training(_cfg(train_cfg=dict(max_epochs=5), custom_hooks=[
        dict(type='GumbelTemperatureHook')]))
    assert "The selector's Gumbel temperature (GumbelTemperatureHook) anneals" in logged[1]


@pytest.mark.parametrize('config', sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                            recursive=True) if '_base_' not in p))
def test_auto_scale_lr_keeps_each_shipped_configs_own_learning_rate(config):
    """--auto-scale-lr on one process at the config's batch size changed the
    tuned rate (x0.5: batch 32 over a base of 64)."""
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.auto_scale_lr.base_batch_size == cfg.train_dataloader.batch_size


def test_the_resumed_schedule_record_names_functions_and_nan_stably():
    """A function's address and NaN differ from run to run: each resume
    flagged them as changed."""
    def warmup(step):
        return step
    first = hook._plain([dict(type='LambdaLR', lr_lambda=warmup, floor=math.nan)])
    again = hook._plain([dict(type='LambdaLR', lr_lambda=warmup, floor=math.nan)])
    assert hook._differences(first, again, 'param_scheduler') == []
    assert first[0]['lr_lambda'].endswith('warmup')
    assert hook._differences(first, hook._plain([dict(first[0], floor=0.1)]),
                             'param_scheduler') == ['param_scheduler.0.floor: nan -> 0.1']


def test_auto_scaling_scales_the_one_cycle_peak_once(logged):
    """OneCycleLR reads a group's lr over the optimizer's as an lr_mult:
    MMEngine's Runner.scale_lr scaled the groups' lr (not the optimizer's)
    after the peak was scaled, and the run peaked at the ratio squared
    (1e-3 / 64 instead of 1e-3 / 8 for batch 4 of 32)."""
    import torch
    from mmengine.optim import build_optim_wrapper

    from dld.engine.schedulers.one_cycle_lr import OneCycleLR
    cfg = _cfg()
    ratio = scale_one_cycle_peaks(cfg, world_size=2)  # 0.5
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2),
                                  dict(type='OptimWrapper', **cfg.optim_wrapper))
    if cfg.auto_scale_lr.enable:  # what Runner.scale_lr then does
        for group in wrapper.optimizer.param_groups:
            group['lr'] *= ratio
    OneCycleLR(wrapper, eta_max=cfg.param_scheduler[0].eta_max, total_steps=10)
    assert [g['max_lr'] for g in wrapper.param_groups] == [pytest.approx(5e-4)]
