"""Plate transforms: shapes, dtypes, valid ratios, and typed load errors."""
import re

import cv2
import numpy as np
import pytest
import torch

from dld.datasets import ImageLoadError
from dld.datasets.transforms import (
    CopyHRToLR,
    DegradeHR,
    LoadPlateImages,
    PackPlateInputs,
    PlatePhotometricDistort,
    PlateRandomAffine,
    ResizePair,
)


def lr_hr(lr_hw=(20, 60), hr_hw=(64, 192), c=3):
    rng = np.random.default_rng(0)
    return dict(img=rng.integers(0, 255, (*lr_hw, c), dtype=np.uint8),
                img_hr=rng.integers(0, 255, (*hr_hw, c), dtype=np.uint8),
                gt_text='ABC1234', track_id='t0', frame_idx=0, lr_path='a', hr_path='b')


def test_load_colour_and_grey(tmp_path, png_writer):
    lr = png_writer(str(tmp_path / 'lr.png'), 20, 60)
    hr = png_writer(str(tmp_path / 'hr.png'), 40, 120)
    out = LoadPlateImages()(dict(lr_path=lr, hr_path=hr))
    assert out['img'].shape == (20, 60, 3) and out['img'].dtype == np.uint8
    assert out['img_hr'].shape == (40, 120, 3) and out['ori_shape'] == (20, 60)
    out = LoadPlateImages(color_type='grayscale', with_hr=False)(dict(lr_path=lr, hr_path=hr))
    assert out['img'].shape == (20, 60, 1) and 'img_hr' not in out


def test_load_raises_typed_error_on_missing_and_corrupt(tmp_path):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    for path in (str(bad), str(tmp_path / 'missing.png')):
        with pytest.raises(ImageLoadError) as err:
            LoadPlateImages()(dict(lr_path=path, hr_path=None))
        assert err.value.path == path
    empty = tmp_path / 'empty.png'  # as inference says it, not 'corrupt or not an image'
    empty.write_bytes(b'')
    with pytest.raises(ImageLoadError, match=r'empty file \(0 bytes\): .*empty\.png'):
        LoadPlateImages()(dict(lr_path=str(empty), hr_path=None))


#: The interpolation names ResizePair's docstring lists, as OpenCV flags.
CV2_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
                  bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)


@pytest.mark.parametrize('pad_value, interpolation', [
    (0, 'bilinear'), (200, 'nearest'), (37, 'bicubic'), (255, 'area')])
def test_resize_pair_pads_lr_right_and_resizes_hr_exactly(pad_value, interpolation):
    res = lr_hr((20, 40))
    lr, hr = res['img'].copy(), res['img_hr'].copy()
    out = ResizePair(lr_size=(48, 144), hr_size=(48, 144), pad_value=pad_value,
                     interpolation=interpolation)(res)
    assert out['img'].shape == (48, 144, 3) and out['img_hr'].shape == (48, 144, 3)
    assert out['valid_ratio'] == pytest.approx(96 / 144)  # 40 * 48/20 = 96
    flag = CV2_INTERP[interpolation]
    # LR: scaled to height 48 keeping the ratio (20x40 -> 48x96), padded on the right
    np.testing.assert_array_equal(out['img'][:, :96], cv2.resize(lr, (96, 48), interpolation=flag))
    assert (out['img'][:, 96:] == pad_value).all()
    # HR: resized to exactly 48x144 (64x192 in), no padding
    np.testing.assert_array_equal(out['img_hr'], cv2.resize(hr, (144, 48), interpolation=flag))
    assert out['valid_ratio_hr'] == 1.0


def test_resize_pair_without_keep_ratio_stretches_lr_to_the_size():
    res = lr_hr((20, 40))
    lr = res['img'].copy()
    out = ResizePair(lr_size=(32, 100), lr_keep_ratio=False, pad_value=255)(res)
    assert out['valid_ratio'] == 1.0
    np.testing.assert_array_equal(
        out['img'], cv2.resize(lr, (100, 32), interpolation=cv2.INTER_LINEAR))


def test_resize_pair_caps_valid_ratio_at_one_for_wide_lr():
    out = ResizePair()(lr_hr((10, 100)))
    assert out['img'].shape == (48, 144, 3) and out['valid_ratio'] == 1.0


def test_resize_pair_keeps_one_channel():
    out = ResizePair()(lr_hr(c=1))
    assert out['img'].shape == (48, 144, 1) and out['img_hr'].shape == (48, 144, 1)


def test_degrade_hr_is_seeded_and_down_scales():
    t = DegradeHR(seed=3, scale=(0.2, 0.2))
    a, b = t(lr_hr())['img'], t(lr_hr())['img']
    assert a.shape == (13, 38, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    with pytest.raises(KeyError, match='Unknown degradation'):
        DegradeHR(blurr=1)


@pytest.mark.parametrize('cls', [PlatePhotometricDistort, PlateRandomAffine])
def test_consistent_augmentation_applies_one_draw_to_lr_and_hr(cls):
    same = lr_hr((32, 96), (32, 96))
    same['img_hr'] = same['img'].copy()
    np.random.seed(0)
    out = cls(prob=1.0, consistent=True)(same)
    assert np.array_equal(out['img'], out['img_hr'])
    assert out['img'].shape == (32, 96, 3) and out['img'].dtype == np.uint8


@pytest.mark.parametrize('cls', [PlatePhotometricDistort, PlateRandomAffine])
def test_augmentation_skips_absent_frames_and_draws_that_do_not_apply(cls):
    res = lr_hr((32, 96), (32, 96))
    res['img_hr'] = None
    lr = res['img']
    np.random.seed(0)
    assert cls(prob=0.0)(res)['img'] is lr
    out = cls(prob=1.0)(res)
    assert out['img_hr'] is None and not np.array_equal(out['img'], lr)


def test_independent_augmentation_differs_between_streams():
    same = lr_hr((32, 96), (32, 96))
    same['img_hr'] = same['img'].copy()
    np.random.seed(0)
    out = PlateRandomAffine(prob=1.0, consistent=False)(same)
    assert not np.array_equal(out['img'], out['img_hr'])


def test_pack_lr_main_stream():
    out = PackPlateInputs()(ResizePair()(lr_hr((20, 40))))
    assert out['inputs'].dtype == torch.uint8 and out['inputs'].shape == (3, 48, 144)
    assert out['inputs_hr'].shape == (3, 48, 144)
    s = out['data_samples']
    assert s.gt_text == 'ABC1234' and s.track_id == 't0' and s.lr_path == 'a'
    assert s.valid_ratio == pytest.approx(96 / 144)


def test_pack_hr_main_stream_puts_hr_in_inputs():
    res = ResizePair(hr_size=(32, 96))(lr_hr())
    out = PackPlateInputs(main_stream='hr')(res)
    assert out['inputs'].shape == (3, 32, 96) and 'inputs_hr' not in out
    assert torch.equal(out['inputs'], torch.from_numpy(res['img_hr']).permute(2, 0, 1))
    assert out['data_samples'].valid_ratio == 1.0
    assert out['data_samples'].img_shape == (32, 96)


def test_copy_hr_to_lr_feeds_the_student_the_teachers_crop():
    res = lr_hr()
    res.pop('img')
    out = PackPlateInputs()(ResizePair()(CopyHRToLR()(res)))
    assert torch.equal(out['inputs'], out['inputs_hr'])
    assert out['data_samples'].valid_ratio == 1.0
    with pytest.raises(KeyError, match='CopyHRToLR needs img_hr'):
        CopyHRToLR()(dict(img=res['img_hr']))


def test_copy_hr_to_lr_is_a_copy_not_a_view():
    res = CopyHRToLR()(lr_hr())
    res['img'][:] = 0
    assert res['img_hr'].any()


def test_seeded_degrade_hr_tells_items_without_paths_apart_by_their_index():
    t = DegradeHR(seed=1, jpeg_quality=None, noise_sigma=(5, 5))

    def lr(**key):
        return t(dict(img_hr=np.full((64, 192, 3), 128, np.uint8), frame_idx=0, **key))['img']

    assert not np.array_equal(lr(sample_idx=0), lr(sample_idx=1))
    assert not np.array_equal(lr(plate_index=0), lr(plate_index=1))
    assert np.array_equal(lr(sample_idx=3), lr(sample_idx=3))


@pytest.mark.parametrize('field', ['scale', 'noise_sigma', 'jpeg_quality'])
def test_a_reversed_degradation_range_is_an_error_naming_the_field(field):
    with pytest.raises(ValueError, match=f"'{field}' is the reversed range"):
        DegradeHR(**{field: (90, 30)})



def test_an_image_opencv_refuses_to_decode_is_a_load_error_naming_it(tmp_path,
                                                                     write_oversized_png):
    path = write_oversized_png(tmp_path / 'huge.png')
    with pytest.raises(ImageLoadError) as err:
        LoadPlateImages(max_pixels=None)(dict(lr_path=str(path), hr_path=None))
    assert err.value.path == str(path) and 'CV_IO_MAX_IMAGE_PIXELS' in str(err.value)


def test_an_image_too_large_by_its_header_is_refused_before_it_is_decoded(
        tmp_path, write_oversized_png):
    """Below OpenCV's limit, a small PNG declaring 30000 x 30000 decoded to
    5.4 GB in each loader worker (a security review); inference refused it."""
    from unittest import mock
    path = write_oversized_png(tmp_path / 'huge.png')
    with mock.patch('cv2.imdecode') as decode, pytest.raises(ImageLoadError) as err:
        LoadPlateImages()(dict(lr_path=str(path), hr_path=None))
    assert not decode.called
    assert 'image of 100000x100000 pixels exceeds the limit of 268435456 pixels' in \
        str(err.value) and err.value.path == str(path)
    assert 'crop the plate first' in str(err.value)  # a size some camera could give
    # a corrupt PNG's: no advice to crop (an own-data journey's 1315865323x571956702)
    data = bytearray(path.read_bytes())
    data[16:24] = (1315865323).to_bytes(4, 'big') + (571956702).to_bytes(4, 'big')
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError) as err:
        LoadPlateImages()(dict(lr_path=str(path), hr_path=None))
    assert 'image of 1315865323x571956702 pixels exceeds the limit of 268435456 pixels; its ' \
        'header is likely corrupt' in str(err.value)


def test_a_fifo_or_a_device_named_as_a_frame_is_refused_not_read(tmp_path):
    """A FIFO hung the loader for ever; /dev/zero was read until memory ran out."""
    import os
    fifo = tmp_path / 'fifo.png'
    os.mkfifo(fifo)
    for path, kind in ((fifo, 'a FIFO (named pipe)'), ('/dev/zero', 'a device')):
        for backend_args in (None, dict(backend='local')):  # the local backend named too
            with pytest.raises(ImageLoadError, match=re.escape(f'is {kind}, not an image file')):
                LoadPlateImages(backend_args=backend_args)(dict(lr_path=str(path), hr_path=None))


@pytest.mark.parametrize('kwargs, says', [
    (dict(keys=('img', 'img_hrr')), r"keys must name images of \('img', 'img_hr'\)"),
    (dict(keys=()), 'keys must name images'),
    (dict(prob=8), r'prob is a probability in \[0, 1\], got 8'),
])
@pytest.mark.parametrize('transform', ['PlateRandomAffine', 'PlatePhotometricDistort'])
def test_augmentation_settings_that_would_do_nothing_are_refused(transform, kwargs, says):
    # 'img_hrr' left the HR frame untransformed, silently
    from dld.registry import TRANSFORMS
    with pytest.raises(ValueError, match=says):
        TRANSFORMS.build(dict(type=transform, **kwargs))


def test_a_png_pillow_refuses_is_still_sized_from_its_header():
    """A bad checksum on a text chunk made Pillow refuse the header, and the
    size check gave up, while OpenCV decodes past it (a review)."""
    import struct
    import zlib

    from dld.datasets.transforms.loading import header_too_large
    from dld.deploy.onnx_reader import _header_size

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    bad_text = struct.pack('>I', 5) + b'tEXt' + b'a\x00bcd' + b'\x00' * 4  # checksum wrong
    png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4000, 4000, 8, 2, 0,
                                                            0, 0))
           + bad_text + chunk(b'IDAT', zlib.compress(b'\x00' * 16)) + chunk(b'IEND', b''))
    assert header_too_large(png, 10**6).startswith(
        'image of 4000x4000 pixels exceeds the limit of 1000000 pixels')
    assert _header_size(np.frombuffer(png, np.uint8)) == (16000000, '4000x4000')


def test_common_formats_are_sized_without_touching_the_warning_filters(monkeypatch):
    """Each header check swapped the process's warning filters
    (warnings.catch_warnings, not thread-safe): readers in several threads
    left a filter behind. PNG, JPEG and BMP headers are read by DLD."""
    import warnings

    import cv2
    import numpy as np

    from dld.datasets.transforms.loading import header_too_large
    monkeypatch.setattr(warnings, 'catch_warnings', None)  # any use would fail
    for ext in ('.png', '.jpg', '.bmp'):
        buf = cv2.imencode(ext, np.zeros((30, 90, 3), np.uint8))[1].tobytes()
        assert header_too_large(buf, 30 * 90) is None
        assert header_too_large(buf, 30 * 90 - 1).startswith('image of 90x30 pixels exceeds')


@pytest.mark.parametrize('params, named', [
    (dict(gaussian_sigma=(-1, 0)), 'gaussian_sigma'), (dict(noise_sigma=(-2, 1)), 'noise_sigma'),
    (dict(blur_prob=2), 'blur_prob'), (dict(gray_prob=-0.1), 'gray_prob'),
    (dict(perspective=3), 'perspective'), (dict(jpeg_quality=(-10, 200)), 'jpeg_quality'),
    (dict(jpeg_quality=(30.5, 60)), 'jpeg_quality'), (dict(darken=(-1, 0)), 'darken'),
    (dict(blur_prob='0.5'), 'blur_prob'), (dict(noise_sigma=(float('nan'), 1)), 'noise_sigma'),
    (dict(noise_sigma=('1', '5')), 'noise_sigma'),
    (dict(jpeg_quality=('30', '90')), 'jpeg_quality'),
    (dict(motion_length=(True, 3)), 'motion_length')])
def test_an_out_of_range_degradation_parameter_is_refused_naming_it(params, named):
    with pytest.raises(ValueError, match=named):
        DegradeHR(**params)


def test_a_motion_length_below_1_5_smears_nothing():
    img = np.random.default_rng(0).integers(0, 255, (64, 192, 3), dtype=np.uint8)
    t = DegradeHR(seed=0, perspective=0, blur_prob=1, motion_blur_prob=1, motion_length=(1, 1),
                  noise_sigma=(0, 0), jpeg_quality=None, gray_prob=0, darken=(1, 1),
                  scale=(1, 1))
    assert np.array_equal(t(dict(img_hr=img, hr_path='a.png'))['img'], img)


def test_a_seeded_degrade_hr_draws_the_same_wherever_the_set_lies():
    img = np.random.default_rng(0).integers(0, 255, (64, 192, 3), dtype=np.uint8)
    t = DegradeHR(seed=0)
    here = t(dict(img_hr=img, hr_path='/a/data/t1/hr-001.png', track_id='t1', frame_idx=0))
    there = t(dict(img_hr=img, hr_path='/b/x/t1/hr-001.png', track_id='t1', frame_idx=0))
    other = t(dict(img_hr=img, hr_path='/a/data/t2/hr-001.png', track_id='t2', frame_idx=0))
    assert np.array_equal(here['img'], there['img'])
    assert not np.array_equal(here['img'], other['img'])


def test_a_seeded_degrade_hr_keys_on_the_path_in_the_set_not_the_line(tmp_path):
    """A flat label file's track ids are line-derived ('imgs', 'imgs#2'):
    removing its first line gave every later image other LR frames."""
    from dld.datasets import PairedPlateDataset
    rng = np.random.default_rng(0)
    (tmp_path / 'imgs').mkdir()
    for n in 'abc':
        cv2.imwrite(str(tmp_path / 'imgs' / f'{n}.png'), rng.integers(0, 255, (48, 144, 3),
                                                                      dtype=np.uint8))
    lines = [f'|imgs/{n}.png\tABC123{i}\n' for i, n in enumerate('abc')]
    (tmp_path / 'all.txt').write_text(''.join(lines))
    (tmp_path / 'later.txt').write_text(''.join(lines[1:]))
    t = DegradeHR(seed=0)

    def lr(ann):
        ds = PairedPlateDataset(data_root=str(tmp_path), ann_file=ann, pipeline=[],
                                load_hr=True)
        out = {}
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            out[info['hr_path'].rsplit('/', 1)[-1]] = t(dict(
                info, img_hr=cv2.imread(info['hr_path']), frame_idx=0))['img']
        return out

    every, later = lr('all.txt'), lr('later.txt')
    assert all(np.array_equal(every[n], later[n]) for n in later)
