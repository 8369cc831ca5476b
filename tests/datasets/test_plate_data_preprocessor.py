"""DataLoader -> pseudo_collate -> PlateDataPreprocessor round trip."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from dld.datasets import PairedPlateDataset
from dld.registry import MODELS

PIPE = [dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')]


def preprocessor(**kw):
    cfg = dict(type='PlateDataPreprocessor', mean=(127.5, ) * 3, std=(127.5, ) * 3,
               bgr_to_rgb=True)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_round_trip_with_lr_and_hr(paired_root):
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='all',
                            pipeline=PIPE)
    batch = next(iter(DataLoader(ds, batch_size=4, collate_fn=pseudo_collate)))
    out = preprocessor()(batch, training=True)
    assert set(out) == {'inputs', 'inputs_hr', 'data_samples'}
    assert out['inputs'].shape == (4, 3, 48, 144) and out['inputs'].dtype == torch.float32
    assert out['inputs_hr'].shape == (4, 3, 48, 144)
    assert out['inputs'].min() >= -1 and out['inputs'].max() <= 1
    assert [s.gt_text for s in out['data_samples']] == ['ABC1234'] * 3 + ['XYZ9A87']
    assert out['data_samples'][0].batch_input_shape == (48, 144)


def test_round_trip_without_hr_in_eval_mode(paired_root):
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='all',
                            test_mode=True, pipeline=PIPE)
    batch = next(iter(DataLoader(ds, batch_size=2, collate_fn=pseudo_collate)))
    out = preprocessor()(batch)
    assert 'inputs_hr' not in out and out['inputs'].shape == (2, 3, 48, 144)


def test_normalises_and_swaps_channels():
    img = torch.zeros(3, 2, 2, dtype=torch.uint8)
    img[0] = 255  # blue in BGR
    out = preprocessor()(dict(inputs=[img], data_samples=None))
    assert torch.allclose(out['inputs'][0, 2], torch.ones(2, 2))  # now last (RGB)
    assert torch.allclose(out['inputs'][0, 0], -torch.ones(2, 2))


def test_grey_inputs_become_three_channels_and_sizes_are_padded():
    a = torch.full((1, 4, 6), 255, dtype=torch.uint8)
    b = torch.full((1, 3, 5), 255, dtype=torch.uint8)
    out = preprocessor(pad_size_divisor=4)(dict(inputs=[a, b], data_samples=None))
    assert out['inputs'].shape == (2, 3, 4, 8)
    assert out['inputs'][1, :, 3, 0].eq(-1).all() and out['inputs'][1, :, 0, 0].eq(1).all()


def test_mismatched_mean_and_channels_fail_loudly():
    with pytest.raises(ValueError, match='channels'):
        preprocessor(channels=None)(dict(inputs=[torch.zeros(1, 2, 2, dtype=torch.uint8)]))


@pytest.mark.parametrize('pad_value', [127.5, -1.0, 300.0])
def test_padding_keeps_a_pad_value_that_uint8_cannot_hold(pad_value):
    small = torch.full((3, 2, 3), 7, dtype=torch.uint8)
    wide = torch.full((3, 2, 5), 9, dtype=torch.uint8)
    raw = dict(mean=None, std=None, pad_value=pad_value)
    out = preprocessor(**raw)(dict(inputs=[small, wide]))['inputs']
    assert out.dtype == torch.float32 and out.shape == (2, 3, 2, 5)
    assert out[0, :, :, 3:].eq(pad_value).all() and out[0, :, :, :3].eq(7).all()
    assert out[1].eq(9).all()
    stacked = torch.full((1, 3, 2, 3), 7, dtype=torch.uint8)
    out = preprocessor(**raw, pad_size_divisor=4)(dict(inputs=stacked))['inputs']
    assert out.shape == (1, 3, 4, 4) and out[0, :, 2:].eq(pad_value).all()
    assert out[0, :, :2, :3].eq(7).all()


def test_integral_pad_values_pad_uint8_before_the_copy_to_the_device():
    pre = preprocessor(mean=None, std=None, pad_value=255)
    batch = pre._stack([torch.zeros(1, 2, 3, dtype=torch.uint8),
                        torch.zeros(1, 2, 5, dtype=torch.uint8)])
    assert batch.dtype == torch.uint8 and batch[0, :, :, 3:].eq(255).all()
