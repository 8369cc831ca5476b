import pytest
import torch
from fvcore.nn import FlopCountAnalysis

from dld.models.selectors import ResolutionSelector
from dld.registry import MODELS
from dld.utils import count_flops


def make_selector(**kwargs):
    torch.manual_seed(0)
    return ResolutionSelector(**kwargs)


def test_builds_from_registry_and_scores_every_scale_for_any_input_size():
    selector = MODELS.build(dict(type='ResolutionSelector', scales=(1.0, 0.5, 0.3)))
    assert selector(torch.randn(2, 3, 48, 144)).shape == (2, 3)
    assert selector(torch.randn(2, 3, 20, 60)).shape == (2, 3)


def test_training_decisions_are_exactly_one_hot():
    selector = make_selector().train()
    decisions, index = selector.decide(selector(torch.randn(8, 3, 48, 144)))
    assert decisions.shape == (8, 6) and index.shape == (8, )
    assert set(decisions.detach().unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(decisions.detach().sum(1), torch.ones(8))
    assert torch.equal(decisions.detach().argmax(1), index)


def test_training_draws_each_scale_as_often_as_its_softmax_probability():
    """Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits)."""
    selector = make_selector().train()
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5, 0.0])
    torch.manual_seed(0)
    _, index = selector.decide(logits.expand(20000, 6))
    freq = torch.bincount(index, minlength=6).float() / 20000
    # 4 standard errors of a frequency near 0.5 at n=20000: 0.014
    assert torch.allclose(freq, torch.softmax(logits, 0), atol=0.014)


def test_bfloat16_logits_are_drawn_from_without_favouring_the_first_scale():
    """Under bfloat16 autocast the noise and the argmax ran on bfloat16's
    coarse grid, whose ties went to index 0 (scale 1.0, the dearest): equal
    logits drew it 0.170 of the time, 0.164 the last."""
    selector = make_selector().train()
    torch.manual_seed(0)
    n = 400000
    _, index = selector.decide(torch.full((n, 6), 6.0, dtype=torch.bfloat16))
    freq = torch.bincount(index, minlength=6).float() / n
    assert float(freq[0] - freq[-1]) < 0.003  # 0.0058 before; 1/6 each by the softmax


def test_the_straight_through_gradient_is_the_soft_samples(monkeypatch):
    from dld.models.selectors import resolution_selector
    noise = torch.tensor([[0.3, -0.2, 1.1, 0.0, 0.5, -0.7]])
    monkeypatch.setattr(resolution_selector, 'sample_gumbel_like', lambda x: noise)
    selector = make_selector(tau=0.7).train()
    weights = torch.tensor([1.0, 0.8, 0.6, 0.5, 0.4, 0.3])
    logits = torch.tensor([[0.2, 0.1, -0.3, 0.4, 0.0, 0.1]], requires_grad=True)
    decisions, index = selector.decide(logits)
    (decisions * weights).sum().backward()
    assert int(index) == int((logits + noise).argmax())
    expected = logits.detach().clone().requires_grad_(True)
    (torch.softmax((expected + noise) / 0.7, -1) * weights).sum().backward()
    assert torch.allclose(logits.grad, expected.grad)


def test_straight_through_gradients_reach_the_selector_parameters():
    selector = make_selector().train()
    decisions, _ = selector.decide(selector(torch.randn(4, 3, 48, 144)))
    cost = torch.tensor([1.0, 0.8, 0.6, 0.5, 0.4, 0.3])
    (decisions * cost).sum().backward()
    assert selector.classifier.weight.grad.abs().sum() > 0
    assert selector.features[0].weight.grad.abs().sum() > 0


def test_eval_decisions_are_deterministic_argmax():
    selector = make_selector().eval()
    logits = selector(torch.randn(5, 3, 48, 144))
    first, index = selector.decide(logits)
    second, _ = selector.decide(logits)
    assert torch.equal(first, second)
    assert torch.equal(index, logits.argmax(1))
    assert torch.equal(first, torch.nn.functional.one_hot(index, 6).float())


def test_gumbel_at_test_adds_noise_in_eval():
    selector = make_selector(gumbel_at_test=True).eval()
    logits = torch.zeros(200, 6)
    _, index = selector.decide(logits)
    assert len(index.unique()) > 1


def test_tau_sharpens_soft_decisions():
    selector = make_selector().eval()
    logits = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    selector.tau = 5.0
    soft_warm, _ = selector.decide(logits, hard=False)
    selector.tau = 0.1
    soft_cold, _ = selector.decide(logits, hard=False)
    assert soft_cold[0, 0] > soft_warm[0, 0]
    torch.testing.assert_close(soft_cold.sum(), torch.tensor(1.0))


def test_flops_are_fully_countable_by_fvcore():
    selector = make_selector().eval()
    x = torch.randn(1, 3, 48, 144)
    analysis = FlopCountAnalysis(selector, x)
    analysis.unsupported_ops_warnings(False)
    analysis.total()
    assert set(analysis.unsupported_ops()) <= {'aten::mean'}  # element-wise only
    # pool over the input + 3 stride-2 convs (16x48 -> 8x24 -> 4x12 -> 2x6) + BN + linear
    convs = 8 * 24 * 8 * 3 * 9 + 4 * 12 * 16 * 8 * 9 + 2 * 6 * 32 * 16 * 9
    assert analysis.by_operator()['conv'] == convs
    assert analysis.by_operator()['linear'] == 32 * 6
    assert count_flops(selector, x) == analysis.total()


def test_a_temperature_that_is_not_positive_is_refused_when_built():
    for tau in (0, -1.0):
        with pytest.raises(ValueError, match=f'tau is a temperature > 0, got {tau}'):
            ResolutionSelector(tau=tau)


def test_an_infinite_temperature_is_refused_when_built():
    with pytest.raises(ValueError, match='tau is a temperature > 0, got inf'):
        ResolutionSelector(tau=float('inf'))


@pytest.mark.parametrize('thumb_size', [(0, 48), 16, (16, 48.0), (16, 48, 3)])
def test_a_thumbnail_size_that_is_not_two_whole_numbers_is_refused_when_built(thumb_size):
    # (0, 48) failed in a convolution 32 frames deep; 16: "'int' object is not iterable"
    with pytest.raises(ValueError, match=r'ResolutionSelector\.thumb_size must be \(h, w\)'):
        ResolutionSelector(thumb_size=thumb_size)
