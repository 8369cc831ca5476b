"""ResNetPlate: one set of weights for every input scale."""
import pytest
import torch
import torch.nn.functional as F

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


@pytest.mark.parametrize('stride', [2, (2, 2, 1)])
def test_a_stride_that_is_no_pair_is_named(stride):
    with pytest.raises(ValueError, match=r'\(h, w\) pair'):
        MODELS.build(dict(type='ResNetPlate', widths=(8, ), depths=(1, ), strides=(stride, )))


def test_gradients_reach_the_stem():
    backbone = MODELS.build(dict(type='ResNetPlate', widths=(8, 8, 8, 8)))
    backbone(torch.randn(2, 3, 14, 43)).sum().backward()
    assert backbone.stem[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('scale_norm', [None, dict(scales=(1.0, 0.3), base_size=(48, 144))])
def test_channels_last_layout_computes_what_the_contiguous_one_does(scale_norm):
    """The layout is a speed choice: outputs, gradients and the state dict match."""
    torch.manual_seed(0)
    cfgs = [dict(type='TextRecognizer',
                 backbone=dict(type='ResNetPlate', widths=(8, 8, 16, 16), channels_last=flag),
                 encoder=dict(type='TransformerEncoder', d_model=16, num_layers=0),
                 decoder=dict(type='CTCDecoder'), scale_norm=scale_norm)
            for flag in (False, True)]
    plain, fast = (MODELS.build(c).train() for c in cfgs)
    fast.load_state_dict(plain.state_dict())
    for h, w in ((48, 144), (14, 43)):
        x = torch.randn(4, 3, h, w)
        a, b = plain.extract_feat(x), fast.extract_feat(x)
        assert b.is_contiguous()
        # The layouts run different convolution kernels (which ones depends on
        # the thread count): float32 sums in another order, about 1e-5 apart.
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
        (a * a).sum().backward()
        (b * b).sum().backward()
    grads = [(n, p.grad, q.grad) for (n, p), q in zip(plain.named_parameters(),
                                                      fast.parameters()) if p.grad is not None]
    assert len(grads) == len(list(plain.backbone.parameters()))
    for name, expected, got in grads:
        scale = expected.abs().max().item()
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * scale, msg=name)
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(fast.state_dict()[key], value, rtol=1e-4, atol=1e-5,
                                   msg=key)


@pytest.mark.parametrize('stride', [(2, 2), (2, 1)])
def test_projection_shortcut_is_the_strided_pointwise_conv(stride):
    """The block's sub-sample + stride-1 1x1 projection is the strided 1x1 conv,
    so a checkpoint of either form reads the same."""
    from dld.models.backbones.basic_block import BasicBlock
    torch.manual_seed(0)
    block = BasicBlock(4, 8, stride).eval()
    x = torch.randn(2, 4, 14, 43)
    conv, bn = block.shortcut
    branch = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))
    expected = F.relu(branch + bn(F.conv2d(x, conv.weight, stride=stride)))
    torch.testing.assert_close(block(x), expected)
