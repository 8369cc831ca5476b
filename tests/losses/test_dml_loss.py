import math

import pytest
import torch

from dld.models.losses import DMLLoss, dml_loss


def loop_dml(a, b, mask, temperature):
    out = []
    for i in range(a.shape[0]):
        steps = [t for t in range(a.shape[1]) if mask[i, t]]
        total = 0.0
        for t in steps:
            p = torch.softmax(a[i, t] / temperature, dim=0)
            q = torch.softmax(b[i, t] / temperature, dim=0)
            kl_qp = sum(float(q[k] * math.log(q[k] / p[k])) for k in range(len(p)))
            kl_pq = sum(float(p[k] * math.log(p[k] / q[k])) for k in range(len(p)))
            total += 0.5 * (kl_qp + kl_pq)
        out.append(total / max(len(steps), 1) * temperature**2)
    return torch.tensor(out)


def test_matches_loop_of_symmetric_kl_with_padding():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 4, 5, generator=g), torch.randn(2, 4, 5, generator=g)
    mask = torch.tensor([[1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.bool)
    expected = loop_dml(a, b, mask, 1.5)
    got = dml_loss(a, b, mask, temperature=1.5, reduction='none')
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_is_symmetric():
    a, b = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert dml_loss(a, b).item() == pytest.approx(dml_loss(b, a).item(), rel=1e-6)


def test_both_students_receive_gradient():
    a = torch.randn(2, 3, 4, requires_grad=True)
    b = torch.randn(2, 3, 4, requires_grad=True)
    DMLLoss(loss_weight=2.0)(a, b).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0


def test_padded_step_does_not_change_result():
    a, b = torch.randn(1, 2, 3), torch.randn(1, 2, 3)
    pad = torch.full((1, 1, 3), 1e4)
    mask = torch.tensor([[True, True, False]])
    padded = dml_loss(torch.cat([a, pad], 1), torch.cat([b, -pad], 1), mask)
    assert padded.item() == pytest.approx(dml_loss(a, b).item(), rel=1e-6)


def test_a_class_both_sides_mask_out_adds_nothing_and_no_nan_gradient():
    # KL(s || t) takes the student as its target: the gradient of
    # exp(t) * (t - i) in t is NaN at t = -inf unless the class is filled first.
    masked = torch.tensor([False, True, False])
    a = torch.tensor([[[2.0, 0.0, 0.5]]], requires_grad=True)
    b = torch.tensor([[[1.0, 0.0, -1.0]]], requires_grad=True)
    loss = dml_loss(a.masked_fill(masked, float('-inf')), b.masked_fill(masked, float('-inf')))
    expected = loop_dml(a.detach()[..., [0, 2]], b.detach()[..., [0, 2]],
                        torch.ones(1, 1, dtype=torch.bool), 1.0)
    torch.testing.assert_close(loss.detach(), expected[0])
    loss.backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
    assert a.grad[0, 0, 1] == 0 and b.grad[0, 0, 1] == 0
