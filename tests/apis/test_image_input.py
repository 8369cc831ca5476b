"""Reading user images: every bad case is an error for that file, or is handled."""
import numpy as np
import pytest
from bad_inputs import EXPECTED_OK, make_bad_inputs

from dld.apis.image_input import ImageInputError, normalize_image, read_image_file


@pytest.fixture(scope='module')
def bad_files(tmp_path_factory):
    return make_bad_inputs(str(tmp_path_factory.mktemp('bad_inputs')))


@pytest.mark.parametrize('name', sorted(n for n, ok in EXPECTED_OK.items() if not ok))
def test_unusable_file_raises_image_input_error_naming_it(bad_files, name):
    with pytest.raises(ImageInputError) as info:
        read_image_file(bad_files[name])
    assert info.value.source == bad_files[name]
    assert info.value.reason


@pytest.mark.parametrize('name', sorted(n for n, ok in EXPECTED_OK.items() if ok))
def test_odd_but_valid_file_becomes_a_3_channel_uint8_image(bad_files, name):
    img = read_image_file(bad_files[name])
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_grayscale_color_type_gives_one_channel(bad_files):
    assert read_image_file(bad_files['rgba.png'], color_type='grayscale').shape[2] == 1


def test_image_over_max_pixels_is_refused_before_decoding(bad_files):
    with pytest.raises(ImageInputError, match='exceeds the limit'):
        read_image_file(bad_files['huge.png'], max_pixels=1000 * 1000)


@pytest.mark.parametrize('array', [
    np.zeros((10, 30), np.uint8),
    np.zeros((10, 30, 1), np.uint8),
    np.zeros((10, 30, 4), np.uint8),
    np.full((10, 30, 3), 0.5, np.float32),
    np.zeros((10, 30, 3), np.uint16),
])
def test_arrays_of_any_usual_layout_are_normalised(array):
    out = normalize_image(array, 'array[0]')
    assert out.shape == (10, 30, 3) and out.dtype == np.uint8


def test_float_array_in_unit_range_is_scaled_to_255():
    assert normalize_image(np.ones((2, 2), np.float32), 'a')[0, 0, 0] == 255


@pytest.mark.parametrize('array', [
    np.zeros((0, 5, 3), np.uint8),
    np.zeros((4, 5, 2), np.uint8),
    np.zeros((2, 4, 5, 3), np.uint8),
    np.full((3, 3), np.nan, np.float32),
])
def test_arrays_that_are_not_images_raise(array):
    with pytest.raises(ImageInputError):
        normalize_image(array, 'array[0]')
