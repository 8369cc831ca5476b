"""Encoders turn (B, C, H', W') into a (B, W', D) sequence at any height."""
import pytest
import torch

from dld.registry import MODELS


@pytest.mark.parametrize('cfg', [
    dict(type='TransformerEncoder', d_model=32, num_layers=1, num_heads=4),
    dict(type='TransformerEncoder', d_model=32, num_layers=0, pooling='attn'),
    dict(type='BiLSTMEncoder', hidden_size=16, num_layers=2),
    dict(type='BiLSTMEncoder', hidden_size=16, num_layers=1, d_model=24, pooling='max'),
], ids=['transformer', 'proj_only_attn_pool', 'bilstm', 'bilstm_proj_max_pool'])
@pytest.mark.parametrize('hw', [(6, 36), (4, 22), (2, 11)])
def test_encoder_output_is_width_by_d_model(cfg, hw):
    torch.manual_seed(0)
    enc = MODELS.build(dict(cfg, in_channels=20)).eval()
    out = enc(torch.randn(3, 20, *hw))
    assert out.shape == (3, hw[1], enc.out_channels)


def test_transformer_encoder_is_order_aware():
    torch.manual_seed(0)
    enc = MODELS.build(dict(type='TransformerEncoder', in_channels=8, d_model=16, num_layers=1,
                            num_heads=2, dropout=0.0)).eval()
    x = torch.randn(1, 8, 2, 5)
    flipped = enc(x.flip(-1)).flip(1)
    assert not torch.allclose(enc(x), flipped, atol=1e-4)


def test_positional_encoding_extends_to_any_length():
    pe = MODELS.build(dict(type='SinusoidalPositionalEncoding', d_model=6))
    table = pe.encoding(50)
    assert table.shape == (50, 6)
    assert torch.allclose(pe.encoding(10), table[:10])


def test_bad_heads_and_pooling_are_refused():
    with pytest.raises(ValueError, match='must divide'):
        MODELS.build(dict(type='TransformerEncoder', in_channels=8, d_model=10, num_heads=4))
    with pytest.raises(ValueError, match='mode must be one of'):
        MODELS.build(dict(type='BiLSTMEncoder', in_channels=8, pooling='median'))
