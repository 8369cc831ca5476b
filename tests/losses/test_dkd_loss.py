import math

import pytest
import torch

from dld.models.losses import DKDLoss, dkd_loss, kl_div_loss


def loop_dkd(student, teacher, target, mask, alpha, beta, temperature):
    """DKD per step from its definition: binary and renormalised non-target KLs."""
    out = []
    for b in range(student.shape[0]):
        steps = [t for t in range(student.shape[1]) if mask[b, t]]
        total = 0.0
        for t in steps:
            p_s = torch.softmax(student[b, t] / temperature, dim=0).double()
            p_t = torch.softmax(teacher[b, t] / temperature, dim=0).double()
            g = int(target[b, t])
            bin_s = [p_s[g], 1 - p_s[g]]
            bin_t = [p_t[g], 1 - p_t[g]]
            tckd = sum(float(bt * math.log(bt / bs)) for bt, bs in zip(bin_t, bin_s))
            others = [k for k in range(len(p_s)) if k != g]
            nc_s = p_s[others] / p_s[others].sum()
            nc_t = p_t[others] / p_t[others].sum()
            nckd = float((nc_t * (nc_t / nc_s).log()).sum())
            total += (alpha * tckd + beta * nckd) * temperature**2
        out.append(total / max(len(steps), 1))
    return torch.tensor(out, dtype=torch.float32)


def test_matches_definition_with_padding_and_garbage_targets():
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(3, 4, 6, generator=g), torch.randn(3, 4, 6, generator=g)
    target = torch.randint(0, 6, (3, 4), generator=g)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    target[~mask] = -1  # padding index must be ignored
    expected = loop_dkd(student, teacher, target, mask, 1.0, 8.0, 4.0)
    got = dkd_loss(student, teacher, target, mask, reduction='none')
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert dkd_loss(student, teacher, target, mask).item() == pytest.approx(
        expected.mean().item(), rel=1e-4)


def test_tckd_plus_weighted_nckd_is_the_full_kl():
    # KL(t || s) = TCKD + (1 - p_t[target]) * NCKD  (Zhao et al., eq. 4)
    student, teacher = torch.randn(1, 1, 5), torch.randn(1, 1, 5)
    target = torch.tensor([[2]])
    tckd = dkd_loss(student, teacher, target, alpha=1.0, beta=0.0, temperature=1.0)
    nckd = dkd_loss(student, teacher, target, alpha=0.0, beta=1.0, temperature=1.0)
    p_target = torch.softmax(teacher[0, 0], 0)[2]
    full = kl_div_loss(student, teacher)
    assert (tckd + (1 - p_target) * nckd).item() == pytest.approx(full.item(), rel=1e-5)


def test_padded_step_does_not_change_result_and_teacher_is_detached():
    student = torch.randn(1, 3, 4, requires_grad=True)
    teacher = torch.randn(1, 3, 4, requires_grad=True)
    target = torch.tensor([[0, 3, 1]])
    mask = torch.tensor([[True, True, False]])
    padded = dkd_loss(student, teacher, target, mask)
    clean = dkd_loss(student[:, :2], teacher[:, :2], target[:, :2])
    padded.backward()
    assert padded.item() == pytest.approx(clean.item(), rel=1e-6)
    assert teacher.grad is None
    assert (student.grad[:, 2] == 0).all() and student.grad[:, :2].abs().sum() > 0


def test_module_weights_and_rejects_out_of_range_targets():
    student, teacher = torch.randn(2, 2, 3), torch.randn(2, 2, 3)
    target = torch.tensor([[0, 1], [2, 0]])
    module = DKDLoss(alpha=0.5, beta=2.0, temperature=2.0, loss_weight=3.0, reduction='sum')
    expected = 3.0 * dkd_loss(student, teacher, target, None, 0.5, 2.0, 2.0, 'sum')
    assert module(student, teacher, target).item() == pytest.approx(expected.item())
    with pytest.raises(ValueError, match='target'):
        dkd_loss(student, teacher, torch.tensor([[0, 3], [0, 0]]))


@pytest.mark.parametrize('teacher, student, temperature', [
    ([5.0, 3.0, 0.0], [5.0, 0.0, 3.0], 1e-3),  # a small temperature
    ([4003.0, 3.0, 0.0], [4005.0, 0.0, 3.0], 4.0),  # a teacher sure of the target
])
def test_nckd_leaves_the_target_out_where_it_leads_by_far(teacher, student, temperature):
    """The target's logit was lowered by 1000 (after dividing by T) and still
    led: NCKD read 0 for 0.003, and 3.05 for 4.30."""
    teacher, student = torch.tensor([[teacher]]), torch.tensor([[student]], requires_grad=True)
    others = torch.tensor([1, 2])
    log_nt = torch.log_softmax(teacher[0, 0, others].double() / temperature, dim=0)
    log_ns = torch.log_softmax(student[0, 0, others].double() / temperature, dim=0)
    nckd = float((log_nt.exp() * (log_nt - log_ns)).sum()) * temperature**2
    got = dkd_loss(student, teacher, torch.tensor([[0]]), alpha=0.0, beta=1.0,
                   temperature=temperature)
    assert got.item() == pytest.approx(nckd, rel=1e-4) and nckd > 1e-3
    got.backward()
    assert torch.isfinite(student.grad).all()
