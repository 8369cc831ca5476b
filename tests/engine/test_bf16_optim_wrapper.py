"""BF16OptimWrapper: bfloat16 autocast on the model's device, float32 state."""
import logging

import pytest
import torch
from log_records import current_log_records
from torch import nn

from dld.engine.optim_wrappers import bf16_optim_wrapper
from dld.registry import OPTIM_WRAPPERS


def _wrapper(model, **kwargs):
    return OPTIM_WRAPPERS.build(dict(type='BF16OptimWrapper',
                                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                     **kwargs))


def test_forward_runs_in_bfloat16_and_the_step_updates_float32_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    wrapper = _wrapper(model)
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.randn(2, 3, 8, 8)
    with wrapper.optim_context(model):
        out = model(x)
        assert out.dtype == torch.bfloat16
        loss = out.float().pow(2).mean()
    wrapper.update_params(loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    # Outside the context the model computes in float32 again (validation).
    assert model(x).dtype == torch.float32


def test_its_step_follows_the_float32_gradient_closely():
    """bfloat16 rounds the forward pass; the update still points the same way."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 3))
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 3, (16, ))
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    loss_fn(model(x), y).backward()
    ref = torch.cat([p.grad.flatten() for p in model.parameters()])
    model.zero_grad()
    with _wrapper(model).optim_context(model):
        loss = loss_fn(model(x), y)
    loss.backward()
    got = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert torch.nn.functional.cosine_similarity(ref, got, dim=0) > 0.99
    assert not torch.equal(ref, got)  # it did compute in bfloat16


def test_float16_is_refused_with_the_wrapper_that_does_it():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match='AmpOptimWrapper'):
        _wrapper(model, dtype='float16')


def test_emulated_bfloat16_is_logged_once(monkeypatch):
    monkeypatch.setattr(bf16_optim_wrapper, 'cpu_has_native_bf16', lambda: False)
    model = nn.Linear(2, 2)
    wrapper = _wrapper(model)
    with current_log_records() as records:
        for _ in range(3):
            with wrapper.optim_context(model):
                model(torch.randn(1, 2))
    warnings = [r for r in records if 'emulates it' in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING



def test_a_config_builds_it_by_type_name():
    """What `tools/train.py --amp` (and the quickstart ablation's bfloat16
    variant) put in a config builds in DLD's scope."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    cfg = Config.fromfile('configs/quickstart/dld_efficiency.py')
    cfg.merge_from_dict({'optim_wrapper.type': 'BF16OptimWrapper'})
    with DefaultScope.overwrite_default_scope('dld'):
        wrapper = build_optim_wrapper(nn.Linear(2, 2), cfg.optim_wrapper)
    assert type(wrapper).__name__ == 'BF16OptimWrapper'
    assert wrapper.clip_grad_kwargs == cfg.optim_wrapper.get('clip_grad') or {}
