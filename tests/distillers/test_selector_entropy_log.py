"""The training log says how sure the selector is: ``selector_entropy``."""
import math

import pytest
import torch

from dld.registry import MODELS

from .conftest import plate_batch, tiny_dld_cfg


def build(teacher_path, **overrides):
    torch.manual_seed(0)
    return MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_path, **overrides))


@pytest.mark.parametrize('decisions', ['gumbel', 'expected'])
def test_entropy_of_the_selectors_softmax_is_logged(teacher_ckpt, decisions):
    model = build(teacher_ckpt(), scale_strategy='all', selector_decisions=decisions)
    model.train()
    lr, hr, samples = plate_batch(4)
    seen = {}
    orig = model.selector_logits

    def spy(x):
        seen['logits'] = orig(x)
        return seen['logits']

    model.selector_logits = spy
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    p = seen['logits'].detach().softmax(-1)
    expected = -(p * p.log()).sum(-1).mean()
    assert losses['selector_entropy'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert 0 <= losses['selector_entropy'].item() <= math.log(len(model.scales)) + 1e-6
    assert not losses['selector_entropy'].requires_grad  # logged, not optimised
    loss, _ = model.parse_losses(losses)  # not summed into the loss
    assert loss.item() == pytest.approx(sum(v.item() for k, v in losses.items()
                                            if 'loss' in k), rel=1e-5)


def test_no_entropy_where_the_selector_is_frozen(teacher_ckpt):
    model = build(teacher_ckpt(), scale_strategy='sampled', train_selector=False)
    model.train()
    lr, hr, samples = plate_batch(4)
    assert 'selector_entropy' not in model(lr, samples, mode='loss', inputs_hr=hr)
