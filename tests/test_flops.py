import torch
import torch.nn as nn
import torch.nn.functional as F

from dld.utils import count_flops, count_params, scale_input_shapes


def small_convnet():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))


def test_conv_flops_count_one_multiply_add_as_one_flop():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert count_flops(conv, torch.randn(1, 3, 10, 10)) == 8 * 10 * 10 * 3 * 9


def test_flops_fall_monotonically_as_the_scale_falls():
    model = small_convnet()
    shapes = scale_input_shapes((48, 144), (1.0, 0.8, 0.6, 0.5, 0.4, 0.3))
    flops = [count_flops(model, torch.randn(1, 3, h, w)) for h, w in shapes]
    assert all(a > b for a, b in zip(flops, flops[1:]))


def test_counting_leaves_training_mode_and_bn_statistics_alone():
    model = small_convnet().train()
    before = model[1].running_mean.clone()
    count_flops(model, torch.randn(2, 3, 16, 16) + 5)
    assert model.training
    assert torch.equal(model[1].running_mean, before)


def test_lstm_and_gru_are_counted_per_weight_matrix_and_step():
    lstm = nn.LSTM(16, 8, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(2, 10, 16)
    # layer 1: 4 gates x 8 x (16 + 8); layer 2 reads 2 x 8 = 16 features; x 2 directions
    per_step = 2 * (4 * 8 * (16 + 8)) + 2 * (4 * 8 * (16 + 8))
    assert count_flops(lstm, x) == 2 * 10 * per_step
    gru = nn.GRU(16, 8, batch_first=True)
    assert count_flops(gru, x) == 2 * 10 * 3 * 8 * (16 + 8)


def test_attention_is_counted_even_for_a_frozen_transformer():
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    x = torch.randn(2, 10, 16)
    trainable = count_flops(layer, x)
    for p in layer.parameters():
        p.requires_grad_(False)
    assert count_flops(layer, x) == trainable
    proj = 2 * 10 * 16 * 16 * 4          # q, k, v and output projections
    attn = (2 * 2) * 10 * 10 * (8 + 8)   # QK^T and AV per head
    ffn = 2 * 10 * 16 * 32 * 2
    norms = 2 * (2 * 10 * 16 * 5)        # fvcore's layer_norm: 5 per element (affine)
    assert trainable == proj + attn + ffn + norms


def test_callables_with_dict_outputs_and_antialiased_resize_are_counted():
    def resize(x):
        return dict(out=F.interpolate(x, size=(5, 15), mode='bilinear', antialias=True))

    assert count_flops(resize, torch.randn(1, 2, 10, 30)) == 4 * 2 * 5 * 15


def test_count_params_counts_each_parameter_once():
    linear = nn.Linear(4, 3)
    shared = nn.Sequential(linear, linear)
    assert count_params(shared) == 4 * 3 + 3
    linear.bias.requires_grad_(False)
    assert count_params(shared, trainable_only=True) == 12
