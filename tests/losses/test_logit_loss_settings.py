"""The logit losses' settings are checked when built: a negative DKD weight
trained the student away from the teacher (loss_logit -0.04), a word failed
deep in dkd_loss, a zero temperature only in the first step."""
import pytest

from dld.models.losses import DKDLoss, DMLLoss, KLDivLoss


@pytest.mark.parametrize('loss', [KLDivLoss, DMLLoss, DKDLoss])
@pytest.mark.parametrize('temperature, error', [
    (0, ValueError), (-1.0, ValueError), (float('inf'), ValueError), ('abc', TypeError)])
def test_a_temperature_that_is_no_positive_number_is_refused(loss, temperature, error):
    with pytest.raises(error, match='temperature'):
        loss(temperature=temperature)
    assert loss(temperature=2).temperature == 2.0


@pytest.mark.parametrize('kwargs, error', [
    (dict(beta=-3), ValueError), (dict(alpha=-0.5), ValueError), (dict(alpha='abc'), TypeError),
    (dict(beta=float('nan')), ValueError)])
def test_dkd_weights_that_are_no_number_at_least_0_are_refused(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        DKDLoss(**kwargs)
    assert (DKDLoss(alpha=0, beta=8).alpha, DKDLoss(alpha=0, beta=8).beta) == (0.0, 8.0)
