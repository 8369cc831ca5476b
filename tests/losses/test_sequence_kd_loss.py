import math

import pytest
import torch

from dld.models.losses import SequenceKDLoss, sequence_kd_loss

INF = float('inf')


def scores(*probs):
    return torch.tensor([[math.log(p) if p > 0 else -INF for p in probs]])


def test_score_weighting_uses_teacher_sequence_probabilities():
    nll = torch.tensor([[1.0, 2.0, 3.0]])
    loss = sequence_kd_loss(nll, scores(0.5, 0.3, 0.2))
    assert loss.item() == pytest.approx(0.5 * 1 + 0.3 * 2 + 0.2 * 3)


def test_score_weighting_renormalises_over_top_k():
    nll = torch.tensor([[1.0, 2.0, 3.0]])
    loss = sequence_kd_loss(nll, scores(0.25, 0.15, 0.1))  # sums to 0.5
    assert loss.item() == pytest.approx(0.5 * 1 + 0.3 * 2 + 0.2 * 3)


def test_missing_beams_are_ignored_even_with_infinite_nll():
    nll = torch.tensor([[1.0, 2.0, INF]], requires_grad=True)
    beam = scores(0.5, 0.3, 0.0)
    assert sequence_kd_loss(nll, beam).item() == pytest.approx((0.5 + 0.6) / 0.8)
    assert sequence_kd_loss(nll, beam, 'uniform').item() == pytest.approx(1.5)
    sequence_kd_loss(nll, beam).backward()
    assert torch.isfinite(nll.grad).all() and nll.grad[0, 2] == 0


def test_top1_and_uniform_weightings():
    nll = torch.tensor([[1.0, 2.0, 4.0]])
    beam = scores(0.5, 0.3, 0.2)
    assert sequence_kd_loss(nll, beam, 'top1').item() == pytest.approx(1.0)
    assert sequence_kd_loss(nll, beam, 'uniform').item() == pytest.approx(7.0 / 3)


def test_weights_are_detached_and_empty_samples_leave_the_mean():
    nll = torch.tensor([[1.0, 2.0], [5.0, 5.0]])
    beam = torch.tensor([[0.0, -1.0], [-INF, -INF]], requires_grad=True)
    loss = sequence_kd_loss(nll, beam, reduction='none')
    assert loss[1].item() == 0.0
    mean = sequence_kd_loss(nll, beam)
    assert mean.item() == pytest.approx(loss[0].item())
    assert not mean.requires_grad


def test_module_applies_loss_weight():
    nll = torch.tensor([[1.0, 2.0]])
    beam = scores(0.5, 0.5)
    assert SequenceKDLoss('uniform', loss_weight=2.0)(nll, beam).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match='weighting'):
        SequenceKDLoss('best')
