"""Per-scale BatchNorm statistics: kept apart, loaded from a plain BN, picked by size."""
import pytest
import torch
from torch import nn

from dld.models.layers import ScaleBatchNorm2d, convert_to_scale_batch_norm, set_active_scale
from dld.registry import MODELS


def test_each_scale_tracks_only_its_own_statistics():
    torch.manual_seed(0)
    bn = ScaleBatchNorm2d(4, num_scales=3, momentum=None).train()
    a, b = torch.randn(8, 4, 5, 5) + 3.0, torch.randn(8, 4, 5, 5) * 2 - 1.0
    set_active_scale(bn, 0)
    bn(a)
    set_active_scale(bn, 2)
    bn(b)
    assert torch.allclose(bn.running_mean[0], a.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(bn.running_mean[2], b.mean((0, 2, 3)), atol=1e-5)
    assert torch.equal(bn.running_mean[1], torch.zeros(4))  # untouched
    assert bn.num_batches_tracked.tolist() == [1, 0, 1]
    # in eval each scale normalises with its own statistics, like a plain BN would
    ref = nn.BatchNorm2d(4, momentum=None).train()
    ref(b)
    bn.eval()
    ref.eval()
    assert torch.allclose(bn(b), ref(b), atol=1e-5)


def test_converts_a_plain_bn_with_its_weights_and_statistics_for_every_scale():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with torch.no_grad():
        net[1].weight.uniform_()
        net[1].running_mean.uniform_()
    plain = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(2, 3, 8, 8)
    expected = net.eval()(x)
    convert_to_scale_batch_norm(net, 4)
    assert isinstance(net[1], ScaleBatchNorm2d)
    assert net[1].running_mean.shape == (4, 4)
    for i in range(4):
        set_active_scale(net, i)
        assert torch.allclose(net.eval()(x), expected)
    # a plain state dict (e.g. the teacher's) loads into the per-scale layer
    net[1].running_mean.zero_()
    net.load_state_dict(plain)
    assert torch.equal(net[1].running_mean[3], plain['1.running_mean'])
    with pytest.raises(IndexError):
        set_active_scale(net, 4)


def test_recognizer_picks_the_statistics_of_the_nearest_scale():
    cfg = dict(
        type='TextRecognizer',
        backbone=dict(type='ResNetPlate', widths=(8, 8, 16, 16)),
        encoder=dict(type='TransformerEncoder', d_model=16, num_layers=0),
        decoder=dict(type='CTCDecoder'),
        scale_norm=dict(scales=(1.0, 0.5, 0.3), base_size=(48, 144)))
    rec = MODELS.build(cfg)
    bns = [m for m in rec.backbone.modules() if isinstance(m, ScaleBatchNorm2d)]
    assert bns and all(m.num_scales == 3 for m in bns)
    for size, index in (((48, 144), 0), ((24, 72), 1), ((14, 43), 2), ((26, 70), 1),
                        ((60, 180), 0)):
        rec.extract_feat(torch.zeros(1, 3, *size))
        assert all(m.active == index for m in bns), size
    with pytest.raises(ValueError, match='repeated input sizes'):
        MODELS.build(dict(cfg, scale_norm=dict(scales=(1.0, 0.99), base_size=(4, 4))))


def test_the_scale_whose_statistics_an_untrained_size_borrows_is_named():
    """One rule for inference's --scale, the config's force_scale and the
    benchmarks: a trained scale's input size borrows nothing."""
    cfg = dict(
        type='TextRecognizer',
        backbone=dict(type='ResNetPlate', widths=(8, 8, 16, 16)),
        encoder=dict(type='TransformerEncoder', d_model=16, num_layers=0),
        decoder=dict(type='CTCDecoder'))
    rec = MODELS.build(dict(cfg, scale_norm=dict(scales=(1.0, 0.5, 0.3), base_size=(48, 144))))
    assert [rec.borrowed_norm_scale(size) for size in ((48, 144), (24, 72), (14, 43))] \
        == [None] * 3
    assert [rec.borrowed_norm_scale(size) for size in ((26, 70), (60, 180), (10, 30))] \
        == [0.5, 1.0, 0.3]
    assert MODELS.build(cfg).borrowed_norm_scale((26, 70)) is None  # one set of statistics
