"""ResNetPlate: one set of weights for every input scale."""
import pytest
import torch

from dld.registry import MODELS

SCALES = [1.0, 0.6, 0.3]


def size_at(scale):
    return round(48 * scale), round(144 * scale)


@pytest.mark.parametrize('scale', SCALES)
def test_default_backbone_keeps_a_quarter_of_the_width(scale):
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='ResNetPlate')).eval()
    h, w = size_at(scale)
    out = backbone(torch.randn(2, 3, h, w))
    assert out.shape == (2, 256, -(-h // 8), -(-w // 4))


def test_full_and_lowest_scale_give_36_and_11_columns():
    backbone = MODELS.build(dict(type='ResNetPlate', widths=(8, 8, 8, 8))).eval()
    assert backbone(torch.randn(1, 3, 48, 144)).shape[-1] == 36
    assert backbone(torch.randn(1, 3, 14, 43)).shape[-1] == 11


def test_gray_input_and_custom_stages():
    backbone = MODELS.build(dict(type='ResNetPlate', in_channels=1, widths=(8, 16),
                                 depths=(2, 1), strides=((2, 2), (1, 2))))
    assert backbone.out_channels == 16
    assert backbone(torch.randn(2, 1, 48, 144)).shape == (2, 16, 24, 36)


def test_mismatched_stage_lists_are_refused():
    with pytest.raises(ValueError, match='one entry per stage'):
        MODELS.build(dict(type='ResNetPlate', widths=(8, 16), depths=(1,)))


def test_gradients_reach_the_stem():
    backbone = MODELS.build(dict(type='ResNetPlate', widths=(8, 8, 8, 8)))
    backbone(torch.randn(2, 3, 14, 43)).sum().backward()
    assert backbone.stem[0].weight.grad.abs().sum() > 0
