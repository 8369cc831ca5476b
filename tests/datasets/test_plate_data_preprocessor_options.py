"""PlateDataPreprocessor: a grey model given colour images, and the settings
refused when it is built."""
import cv2
import numpy as np
import pytest
import torch

from dld.registry import MODELS


def preprocessor(**kw):
    return MODELS.build(dict(type='PlateDataPreprocessor', **kw))


@pytest.mark.parametrize('bgr_to_rgb', [False, True])
def test_a_grey_model_sees_colour_images_as_opencv_converts_them(bgr_to_rgb):
    """Images are loaded BGR; with or without the RGB swap, the grey a
    1-channel model reads is OpenCV's BGR2GRAY (0.299 R + 0.587 G + 0.114 B),
    but unrounded: within half a level, plus OpenCV's fixed-point weights."""
    bgr = np.random.default_rng(0).integers(0, 256, (8, 20, 3), dtype=np.uint8)
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    img = torch.from_numpy(bgr).permute(2, 0, 1).contiguous()
    pre = preprocessor(mean=None, std=None, channels=1, bgr_to_rgb=bgr_to_rgb)
    out = pre(dict(inputs=[img]))['inputs']
    assert out.shape == (1, 1, 8, 20)
    assert np.abs(out[0, 0].numpy() - expected).max() <= 0.55


def test_a_grey_model_normalises_with_one_mean_and_std():
    img = torch.full((3, 2, 4), 200, dtype=torch.uint8)  # the same level in B, G, R
    out = preprocessor(mean=(100.0, ), std=(50.0, ), channels=1)(dict(inputs=[img]))['inputs']
    assert out.shape == (1, 1, 2, 4)
    assert torch.allclose(out, torch.full_like(out, 2.0))


@pytest.mark.parametrize('kwargs,says', [
    (dict(mean=(127.5, ) * 3, std=None), 'Give both mean and std, or neither'),
    (dict(mean=None, std=(127.5, ) * 3), 'Give both mean and std, or neither'),
    (dict(channels=2), 'channels must be 1, 3 or None, got 2'),
    (dict(mean=(1.0, 2.0), std=(1.0, 2.0)), 'mean/std need 1 or 3 equal-length values'),
    (dict(mean=(1.0, 2.0, 3.0), std=(1.0, )), 'mean/std need 1 or 3 equal-length values'),
])
def test_settings_that_cannot_work_are_refused_when_built(kwargs, says):
    with pytest.raises(ValueError, match=says):
        preprocessor(**kwargs)


def test_images_given_channels_last_are_told_to_permute():
    """A numpy image made a tensor as it is, (H, W, C): its 48 rows were
    taken for channels, and the error pointed at the config's mean/std."""
    hwc = torch.zeros(48, 144, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match=r'have 48 channels; .*channels last: images are '
                       r'channels first, \(C, H, W\) each .*permute\(2, 0, 1\) an image'):
        preprocessor()(dict(inputs=[hwc, hwc]))
    with pytest.raises(ValueError) as err:  # a real channel mismatch gets no such hint
        preprocessor()(dict(inputs=[torch.zeros(4, 8, 20, dtype=torch.uint8)]))
    assert 'channels last' not in str(err.value)
