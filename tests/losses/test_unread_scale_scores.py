"""The selector's scores for scales the student did not read ('sampled')."""
import pytest
import torch

from dld.models.losses.functional import estimate_unread_scores, resolution_selector_loss
from dld.models.selectors import ResolutionSelector

SCORES = torch.tensor([0.05, 0.06, 0.10, 0.20, 0.50, 1.20])
FLOPS = torch.tensor([1.0, 0.64, 0.36, 0.25, 0.16, 0.09])  # best: index 2


def selector_logit_grad(logits, noise, score, computed=None):
    """Straight-through gradient on the logits for one fixed Gumbel draw."""
    logits = logits.clone().requires_grad_()
    soft = torch.softmax(logits + noise, dim=-1)
    hard = torch.nn.functional.one_hot(soft.argmax(-1), soft.shape[-1]).float()
    decisions = hard + soft - soft.detach()
    resolution_selector_loss(decisions, score, FLOPS, 0.3, computed_mask=computed).backward()
    return logits.grad, soft.argmax(-1)


def test_over_the_draw_of_the_other_scale_the_gradient_is_that_of_reading_all():
    torch.manual_seed(0)
    k = len(SCORES)
    logits, noise = torch.randn(1, k), -torch.log(-torch.log(torch.rand(1, k)))
    exact, chosen = selector_logit_grad(logits, noise, SCORES[None])
    estimates, zeroed = [], []
    for other in range(k):  # every draw of the other scale, each as likely
        if other == chosen.item():
            continue
        computed = torch.zeros(1, k, dtype=torch.bool)
        computed[0, [chosen.item(), other]] = True
        read = SCORES[None].where(computed, torch.tensor(float('nan')))
        estimates.append(selector_logit_grad(
            logits, noise, estimate_unread_scores(read, computed, chosen))[0])
        # what scoring the unread scales as 0 gave: biased towards them
        zeroed.append(selector_logit_grad(logits, noise, read, computed)[0])
    torch.testing.assert_close(torch.stack(estimates).mean(0), exact)
    assert not torch.allclose(torch.stack(zeroed).mean(0), exact, atol=1e-3)


def test_the_forward_value_is_the_chosen_scales_and_nan_stays_out():
    computed = torch.tensor([[True, False, True, False], [False, True, True, True]])
    chosen = torch.tensor([2, 1])
    score = torch.tensor([[0.4, float('nan'), 0.1, float('nan')],
                          [float('nan'), 0.3, 0.6, 0.9]])
    filled = estimate_unread_scores(score, computed, chosen)
    # row 0: one other read (3 others, weight 3); row 1: two (weight 3 / 2)
    torch.testing.assert_close(filled, torch.tensor([[0.1 + 3 * 0.3, 0.1, 0.1, 0.1],
                                                     [0.3, 0.3, 0.3 + 1.5 * 0.3,
                                                      0.3 + 1.5 * 0.6]]))
    one_hot = torch.nn.functional.one_hot(chosen, 4).float()
    loss = resolution_selector_loss(one_hot, filled, [1.0, 0.5, 0.3, 0.2], 0.0,
                                    reduction='none')
    torch.testing.assert_close(loss, torch.tensor([0.1, 0.3]))


def test_scores_of_every_scale_are_kept_and_a_chosen_scale_not_read_is_refused():
    score = torch.rand(3, 4)
    assert estimate_unread_scores(score, torch.ones(3, 4, dtype=torch.bool),
                                  torch.tensor([0, 1, 2])) is score
    with pytest.raises(ValueError, match='chosen scale'):
        estimate_unread_scores(score, torch.eye(4, dtype=torch.bool)[:3],
                               torch.tensor([1, 1, 2]))
    with pytest.raises(ValueError, match='must both be'):
        estimate_unread_scores(score, torch.ones(3, 5, dtype=torch.bool), torch.zeros(3))


def test_a_selector_trained_on_two_read_scales_settles_on_the_best_one():
    torch.manual_seed(0)
    k, batch = len(SCORES), 128
    selector = ResolutionSelector(scales=(1.0, 0.8, 0.6, 0.5, 0.4, 0.3)).train()
    selector.tau = 1.0
    logits = torch.zeros(k, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.05)
    rows = torch.arange(batch)
    for _ in range(300):
        decisions, chosen = selector.decide(logits.expand(batch, k))
        computed = torch.zeros(batch, k, dtype=torch.bool)
        other = torch.randint(0, k - 1, (batch, ))
        computed[rows, chosen] = True
        computed[rows, other + (other >= chosen).long()] = True
        read = SCORES.expand(batch, k).where(computed, torch.tensor(float('nan')))
        loss = resolution_selector_loss(
            decisions, estimate_unread_scores(read, computed, chosen), FLOPS, 0.3)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.softmax(logits.detach(), 0)[2] > 0.95
