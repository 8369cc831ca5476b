"""The warning of a learning-rate schedule that ends before training does."""
from types import SimpleNamespace

import pytest
from mmengine.optim import ConstantLR, CosineAnnealingLR, LinearLR, OneCycleLR
from torch import nn, optim

from dld.engine.hooks import resumed_schedule_check_hook as hook


def _runner(schedulers, max_iters=100, it=0):
    return SimpleNamespace(param_schedulers=schedulers, max_iters=max_iters, max_epochs=10,
                           iter=it, optim_wrapper=None)


@pytest.fixture
def opt():
    return optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)


@pytest.fixture
def said(monkeypatch):
    lines = []
    monkeypatch.setattr(hook, 'print_log', lambda msg, **kwargs: lines.append(msg))
    return lines


def test_an_anneal_that_ends_early_is_said(opt, said):
    cosine = CosineAnnealingLR(opt, T_max=60, end=60, by_epoch=False)
    hook.warn_schedule_ending_early(_runner([cosine]), 10)
    assert said[0].startswith('The learning-rate schedule ends at iteration 60 (epoch 6), '
                              'before training does (iteration 100, epoch 10): from there the '
                              'learning rate stays at its last value. Set the schedule')


@pytest.mark.parametrize('make', [
    lambda o: [LinearLR(o, start_factor=0.1, end=10, by_epoch=False),
               ConstantLR(o, factor=1.0, begin=10, end=20, by_epoch=False)],  # warmups
    lambda o: [OneCycleLR(o, eta_max=0.1, total_steps=100, end=100, by_epoch=False)],
    lambda o: [LinearLR(o, start_factor=0.1, end=10, by_epoch=False),
               CosineAnnealingLR(o, T_max=90, begin=10, by_epoch=False)],  # never ends
])
def test_a_warmup_or_a_schedule_to_the_end_is_not_said(opt, said, make):
    hook.warn_schedule_ending_early(_runner(make(opt)), 10)
    assert not said
