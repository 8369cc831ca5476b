import math

import pytest
import torch

from dld.models.losses import KLDivLoss, kl_div_loss


def loop_kl(student, teacher, mask, temperature):
    """Per-sample KL(t || s) * T^2, averaged over valid steps, by explicit loops."""
    out = []
    for b in range(student.shape[0]):
        steps = [t for t in range(student.shape[1]) if mask[b, t]]
        total = 0.0
        for t in steps:
            p_t = torch.softmax(teacher[b, t] / temperature, dim=0)
            p_s = torch.softmax(student[b, t] / temperature, dim=0)
            total += sum(float(p_t[k] * math.log(p_t[k] / p_s[k])) for k in range(len(p_t)))
        out.append(total / max(len(steps), 1) * temperature**2)
    return torch.tensor(out)


def test_single_step_matches_hand_computation():
    teacher = torch.tensor([[[math.log(3.0), 0.0]]])  # p_t = (0.75, 0.25)
    student = torch.zeros(1, 1, 2)                     # p_s = (0.5, 0.5)
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert kl_div_loss(student, teacher).item() == pytest.approx(expected, rel=1e-6)


def test_matches_loop_with_temperature_and_different_padding_per_sample():
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(3, 5, 4, generator=g), torch.randn(3, 5, 4, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=torch.bool)
    expected = loop_kl(student, teacher, mask, 2.0)
    per_sample = kl_div_loss(student, teacher, mask, temperature=2.0, reduction='none')
    torch.testing.assert_close(per_sample, expected, rtol=1e-5, atol=1e-6)
    mean = kl_div_loss(student, teacher, mask, temperature=2.0)
    assert mean.item() == pytest.approx(expected.mean().item(), rel=1e-5)
    total = kl_div_loss(student, teacher, mask, temperature=2.0, reduction='sum')
    assert total.item() == pytest.approx(expected.sum().item(), rel=1e-5)


def test_padded_step_with_garbage_changes_neither_value_nor_gradients():
    g = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    padded_s = torch.cat([student, torch.full((2, 1, 4), float('nan'))], dim=1).requires_grad_()
    padded_t = torch.cat([teacher, torch.full((2, 1, 4), float('inf'))], dim=1)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0]], dtype=torch.bool)

    clean = kl_div_loss(student, teacher, temperature=3.0)
    padded = kl_div_loss(padded_s, padded_t, mask, temperature=3.0)
    padded.backward()
    assert padded.item() == pytest.approx(clean.item(), rel=1e-6)
    assert torch.isfinite(padded_s.grad).all()
    assert (padded_s.grad[:, 3] == 0).all()


def test_mean_skips_samples_without_valid_steps():
    g = torch.Generator().manual_seed(2)
    student, teacher = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    mask = torch.tensor([[1, 1, 0], [0, 0, 0]], dtype=torch.bool)
    only_first = kl_div_loss(student[:1], teacher[:1], mask[:1])
    assert kl_div_loss(student, teacher, mask).item() == pytest.approx(only_first.item())
    assert kl_div_loss(student, teacher, mask, reduction='none')[1].item() == 0.0


def test_teacher_gets_no_gradient_and_identical_inputs_give_zero():
    student = torch.randn(2, 3, 4, requires_grad=True)
    teacher = student.detach().clone().requires_grad_()
    loss = kl_div_loss(student, teacher, temperature=2.0)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert teacher.grad is None


def test_module_applies_loss_weight_and_reduction():
    student, teacher = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    module = KLDivLoss(temperature=2.0, loss_weight=0.5, reduction='none')
    expected = 0.5 * kl_div_loss(student, teacher, temperature=2.0, reduction='none')
    torch.testing.assert_close(module(student, teacher), expected)


def test_shape_mismatch_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match='SequenceConnector') as info:
        kl_div_loss(torch.randn(2, 3, 4), torch.randn(2, 5, 4))
    # a CTC-like decoder of one's own that forgot its flag (a newcomer's journey)
    assert '`logits_per_frame = True`' in str(info.value)


def test_reduction_override_replaces_the_configured_reduction_for_one_call():
    student, teacher = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    module = KLDivLoss(reduction='mean')
    assert module(student, teacher, reduction_override='none').shape == (3, )
    assert module(student, teacher).dim() == 0
    with pytest.raises(ValueError, match='reduction'):
        module(student, teacher, reduction_override='max')


def test_a_class_the_teacher_masks_out_adds_nothing_not_nan():
    teacher = torch.tensor([[[2.0, float('-inf'), 0.5]]])  # class 1 masked, p = 0
    student = torch.tensor([[[1.0, 3.0, 0.0]]], requires_grad=True)
    loss = kl_div_loss(student, teacher)
    p = torch.softmax(teacher[0, 0, [0, 2]], -1)
    q = torch.log_softmax(student[0, 0].detach(), -1)[[0, 2]]
    torch.testing.assert_close(loss.detach(), (p * (p.log() - q)).sum())
    loss.backward()
    assert torch.isfinite(student.grad).all()
