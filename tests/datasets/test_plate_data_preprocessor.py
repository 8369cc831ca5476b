"""DataLoader -> pseudo_collate -> PlateDataPreprocessor round trip."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from dld.datasets import PairedPlateDataset
from dld.registry import MODELS

PIPE = [dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')]


MEAN = STD = (127.5, ) * 3


def preprocessor(**kw):
    cfg = dict(type='PlateDataPreprocessor', mean=MEAN, std=STD, bgr_to_rgb=True)
    cfg.update(kw)
    return MODELS.build(cfg)


def _normalised_rgb(raw: torch.Tensor) -> np.ndarray:
    """A packed uint8 BGR ``(3, H, W)`` frame as the model should get it:
    channels reversed to RGB (``bgr_to_rgb=True``), then ``(x - mean) / std``."""
    rgb = raw.numpy()[::-1].astype(np.float64)
    mean = np.asarray(MEAN, np.float64).reshape(3, 1, 1)
    std = np.asarray(STD, np.float64).reshape(3, 1, 1)
    return (rgb - mean) / std


def test_round_trip_with_lr_and_hr(paired_root):
    # frames whose B, G and R differ, so that a missing channel swap shows
    rng = np.random.default_rng(0)
    for path in sorted(paired_root.rglob('*.png')):
        h, w = cv2.imread(str(path)).shape[:2]
        assert cv2.imwrite(str(path), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='all',
                            pipeline=PIPE)
    batch = next(iter(DataLoader(ds, batch_size=4, collate_fn=pseudo_collate)))
    raw_lr = [t.clone() for t in batch['inputs']]
    raw_hr = [t.clone() for t in batch['inputs_hr']]
    out = preprocessor()(batch, training=True)
    assert set(out) == {'inputs', 'inputs_hr', 'data_samples'}
    assert out['inputs'].shape == (4, 3, 48, 144) and out['inputs'].dtype == torch.float32
    assert out['inputs_hr'].shape == (4, 3, 48, 144) and out['inputs_hr'].dtype == torch.float32
    for key, raws in (('inputs', raw_lr), ('inputs_hr', raw_hr)):
        for got, raw in zip(out[key], raws):
            assert raw.dtype == torch.uint8 and raw.shape == (3, 48, 144)
            assert not torch.equal(raw[0], raw[2])
            np.testing.assert_allclose(got.numpy(), _normalised_rgb(raw), rtol=0, atol=1e-5)
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


def test_normalising_in_place_gives_the_reference_values_and_leaves_the_caller_s_batch():
    """Flipped while uint8 and normalised in place (4.5x faster on a batch
    of 64, a performance review): the values are those of the reference
    formula, bit for bit, and a float batch of the caller's is not changed."""
    pre = MODELS.build(dict(type='PlateDataPreprocessor', mean=[10.0, 20.0, 30.0],
                            std=[2.0, 3.0, 4.0], bgr_to_rgb=True))
    torch.manual_seed(0)
    imgs = [torch.randint(0, 256, (3, 8, 24), dtype=torch.uint8) for _ in range(4)]
    reference = (torch.stack(imgs).float().flip(1) - pre.mean) / pre.std
    assert torch.equal(pre._process(imgs), reference)
    given = torch.stack(imgs).float()
    kept = given.clone()
    for flip in (True, False):  # a view of it, or the tensor itself, without the flip
        pre.bgr_to_rgb = flip
        expected = ((kept.flip(1) if flip else kept) - pre.mean) / pre.std
        assert torch.equal(pre._process(given), expected)
        assert torch.equal(given, kept)
    grey = torch.randint(0, 256, (2, 1, 8, 24), dtype=torch.uint8)  # expanded to 3 channels
    assert torch.equal(pre._process(grey), (grey.float().expand(-1, 3, -1, -1) - pre.mean)
                       / pre.std)


def test_three_means_for_one_channel_are_refused_when_built():
    """It failed at the first batch, after the sets and workers started."""
    with pytest.raises(ValueError, match=r'channels=1 but mean/std have 3 values'):
        preprocessor(channels=1)
    preprocessor(channels=3, mean=[127.5], std=[127.5])  # one value serves 3 channels


@pytest.mark.parametrize('channels, in_channels', [(1, 3), (3, 1)])
def test_a_preprocessor_of_other_channels_than_the_backbone_is_refused_when_built(
        channels, in_channels):
    """It failed at the first training step, in conv2d, naming neither setting."""
    import os.path as osp

    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs/_base_/models/recognizer_ctc.py')).model
    cfg.backbone.update(in_channels=in_channels, widths=(8, 16, 16, 32))
    cfg.data_preprocessor = dict(type='PlateDataPreprocessor', channels=channels,
                                 mean=[127.5], std=[127.5])
    # the config's key named whole (it was "backbone.in_channels")
    with pytest.raises(ValueError, match=rf'model.data_preprocessor.channels={channels} but '
                       rf'model.backbone.in_channels={in_channels}: .* and '
                       r'model.backbone.in_channels=1; '):
        MODELS.build(cfg.to_dict())
    cfg.data_preprocessor['channels'] = None  # inputs as they come: not checked
    MODELS.build(cfg.to_dict())
