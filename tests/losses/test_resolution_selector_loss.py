import pytest
import torch

from dld.models.losses import ResolutionSelectorLoss, resolution_selector_loss
from dld.models.selectors import ResolutionSelector

FLOPS = torch.tensor([1.0, 0.5, 0.25])


def test_matches_hand_computation_and_parts_sum_to_loss():
    decisions = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    kl = torch.tensor([[0.1, 0.4, 0.9], [0.2, 0.3, 0.8]])
    loss, parts = resolution_selector_loss(decisions, kl, FLOPS, gamma=0.1, return_parts=True)
    # sample 0: 0.4 + 0.1 * 0.5 ; sample 1: 0.8 + 0.1 * 0.25
    assert loss.item() == pytest.approx(((0.4 + 0.05) + (0.8 + 0.025)) / 2)
    assert parts['score'].item() == pytest.approx(0.6)
    assert parts['flops'].item() == pytest.approx(0.0375)
    per_sample = resolution_selector_loss(decisions, kl, FLOPS, 0.1, reduction='none')
    torch.testing.assert_close(per_sample, torch.tensor([0.45, 0.825]))


def test_nan_kl_at_uncomputed_scale_gives_finite_value_and_gradients():
    selector = ResolutionSelector(scales=(1.0, 0.5, 0.25)).train()
    torch.manual_seed(0)
    decisions, index = selector.decide(selector(torch.randn(4, 3, 48, 144)))
    computed = torch.nn.functional.one_hot(index, 3).bool()
    kl = torch.full((4, 3), float('nan'))
    kl[computed] = torch.rand(4)
    kl.requires_grad_()
    loss = resolution_selector_loss(decisions, kl, FLOPS, 0.1, computed_mask=computed)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(kl.grad).all() and (kl.grad[~computed] == 0).all()
    grads = [p.grad for p in selector.parameters()]
    assert all(torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_uncomputed_scales_contribute_nothing_unless_flops_kept():
    decisions = torch.tensor([[0.3, 0.7, 0.0]])  # soft decisions
    kl = torch.tensor([[1.0, 2.0, 3.0]])
    computed = torch.tensor([[False, True, False]])
    assert resolution_selector_loss(decisions, kl, FLOPS, 1.0, computed).item() == \
        pytest.approx(0.7 * 2 + 0.7 * 0.5)
    kept = resolution_selector_loss(decisions, kl, FLOPS, 1.0, computed,
                                    flops_on_uncomputed=True)
    assert kept.item() == pytest.approx(0.7 * 2 + 0.3 * 1.0 + 0.7 * 0.5)


def test_module_weights_loss_and_parts():
    decisions = torch.tensor([[1.0, 0.0, 0.0]])
    kl = torch.tensor([[0.5, 0.0, 0.0]])
    module = ResolutionSelectorLoss(gamma=0.2, loss_weight=2.0)
    loss, parts = module(decisions, kl, [1.0, 0.5, 0.25], return_parts=True)
    assert loss.item() == pytest.approx(2 * (0.5 + 0.2))
    assert (parts['score'] + parts['flops']).item() == pytest.approx(loss.item())


def test_module_reduction_override_gives_per_sample_values():
    decisions = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    kl = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.0, 0.1]])
    per_sample = ResolutionSelectorLoss(gamma=1.0)(decisions, kl, FLOPS,
                                                   reduction_override='none')
    torch.testing.assert_close(per_sample, torch.tensor([1.5, 0.35]))


@pytest.mark.parametrize('kwargs, error', [
    (dict(gamma=-1.0), ValueError), (dict(gamma='0.1'), TypeError),
    (dict(loss_weight='two'), TypeError), (dict(loss_weight=float('nan')), ValueError),
    (dict(loss_weight=True), TypeError)])
def test_weights_are_checked_when_built(kwargs, error):
    # a negative gamma rewards FLOPs; a string weight failed at the first step
    from dld.models.losses import ResolutionSelectorLoss
    name = next(iter(kwargs))
    with pytest.raises(error, match=name):
        ResolutionSelectorLoss(**kwargs)
    assert ResolutionSelectorLoss(gamma=0, loss_weight=2).gamma == 0.0
