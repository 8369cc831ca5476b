import pytest
import torch
import torch.nn.functional as F

from dld.models.losses import FeatureDistanceLoss, feature_distance_loss


def test_l2_on_maps_is_mean_squared_error():
    s, t = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    assert feature_distance_loss(s, t).item() == pytest.approx(F.mse_loss(s, t).item())
    assert feature_distance_loss(s, t, mode='l1').item() == pytest.approx(F.l1_loss(s, t).item())
    assert feature_distance_loss(s, t, mode='smooth_l1').item() == pytest.approx(
        F.smooth_l1_loss(s, t).item())


def test_sequence_mask_averages_each_sample_over_its_valid_steps():
    s = torch.zeros(2, 3, 2)
    t = torch.tensor([[[1.0, 1.0], [2.0, 2.0], [9.0, 9.0]],
                      [[3.0, 3.0], [9.0, 9.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    per_sample = feature_distance_loss(s, t, mask, reduction='none')
    torch.testing.assert_close(per_sample, torch.tensor([(1 + 4) / 2, 9.0]))
    assert feature_distance_loss(s, t, mask).item() == pytest.approx((2.5 + 9) / 2)


def test_map_mask_covers_positions_across_channels():
    s = torch.zeros(1, 2, 1, 2)
    t = torch.tensor([[[[1.0, 5.0]], [[3.0, 5.0]]]])
    mask = torch.tensor([[[True, False]]])
    assert feature_distance_loss(s, t, mask, mode='l1').item() == pytest.approx(2.0)


def test_teacher_is_detached():
    s = torch.randn(2, 3, 4, requires_grad=True)
    t = torch.randn(2, 3, 4, requires_grad=True)
    FeatureDistanceLoss(loss_weight=2.0)(s, t).backward()
    assert s.grad is not None and t.grad is None


def test_shape_mismatch_names_the_connectors():
    with pytest.raises(ValueError, match='Connector'):
        feature_distance_loss(torch.randn(1, 3, 4, 5), torch.randn(1, 6, 4, 5))


@pytest.mark.parametrize('shape, mask_shape', [((0, 3, 4, 5), None), ((0, 3, 4, 5), (0, 4, 5)),
                                               ((0, 6, 2), None), ((0, 6, 2), (0, 6))])
def test_an_empty_batch_reduces_like_the_other_losses(shape, mask_shape):
    """No sample: 0 for 'mean' and 'sum', an empty (0,) for 'none', as every
    loss of the package does, not a reshape error."""
    s, t = torch.randn(shape), torch.randn(shape)
    mask = None if mask_shape is None else torch.ones(mask_shape, dtype=torch.bool)
    for mode in ('l2', 'l1', 'smooth_l1'):
        assert feature_distance_loss(s, t, mask, mode=mode).item() == 0.0
        assert feature_distance_loss(s, t, mask, mode=mode, reduction='sum').item() == 0.0
        assert feature_distance_loss(s, t, mask, mode=mode, reduction='none').shape == (0,)


@pytest.mark.parametrize('shape, mask_shape', [((2, 0, 16), (2, 0)), ((2, 8, 0, 12), (2, 0, 12))])
def test_features_of_no_position_read_as_a_mask_of_none_valid(shape, mask_shape):
    """A sequence of length 0 (a map of height 0) was NaN without a mask,
    0 with one (as the KL losses give)."""
    s, t = torch.randn(shape, requires_grad=True), torch.randn(shape)
    unmasked = feature_distance_loss(s, t)
    masked = feature_distance_loss(s, t, torch.ones(mask_shape, dtype=torch.bool))
    assert unmasked.item() == masked.item() == 0.0
    unmasked.backward()
    assert torch.isfinite(s.grad).all()
    # a sample of positions is still its mean
    s2, t2 = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert torch.equal(feature_distance_loss(s2, t2, reduction='none'),
                       F.mse_loss(s2, t2, reduction='none').flatten(1).mean(dim=1))


@pytest.mark.parametrize('kwargs, error, match', [
    # failed in the first step, in torch's smooth_l1_loss
    (dict(mode='smooth_l1', beta=-1.0), ValueError, 'beta must be a finite number >= 0'),
    (dict(mode='smooth_l1', beta='x'), TypeError, 'beta must be a number'),
    # not read, silently
    (dict(mode='l2', beta=0.5), ValueError, "beta is the threshold of mode='smooth_l1'"),
])
def test_a_beta_that_would_not_be_read_as_set_is_refused_when_built(kwargs, error, match):
    with pytest.raises(error, match=match):
        FeatureDistanceLoss(**kwargs)


def test_smooth_l1_beta_is_read():
    s, t = torch.randn(2, 4, 3, 5), torch.randn(2, 4, 3, 5)
    for beta in (None, 0.0, 0.5):
        loss = FeatureDistanceLoss(mode='smooth_l1', beta=beta)
        expected = F.smooth_l1_loss(s, t, beta=1.0 if beta is None else beta)
        assert torch.allclose(loss(s, t), expected)
