"""Reading user images: every bad case is an error for that file, or is handled."""
import re

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


# ---------------------------------------------------------------- decoding as the dataset
def _png_header(w: int, h: int) -> bytes:
    """A PNG whose header announces ``w x h`` RGB pixels (its data is a stub)."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))

    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(b'\0' * 100)) + chunk(b'IEND', b''))


def _write(path, img) -> str:
    import cv2
    assert cv2.imwrite(str(path), img)
    return str(path)


def _plate_arrays() -> dict:
    """The arrays the plate files are written from (BGR, BGRA or grey)."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (30, 90, 3), dtype=np.uint8)
    y, x = np.mgrid[0:30, 0:90]
    return {
        'color.png': img,
        'color.jpg': img,
        'gray.png': img[..., 0],
        'sixteen_bit.png': img.astype(np.uint16) * 257,
        # every 16-bit value, not only multiples of 257: high byte, not rounding
        'sixteen_bit_full.png': rng.integers(0, 65536, (30, 90, 3), dtype=np.uint16),
        'bgra.png': np.dstack([img, img[..., :1]]),
        # smooth, so that JPEG's loss is small enough to bound
        'smooth.jpg': np.dstack([40 + 2 * x, 30 + 6 * y, 230 - x - 3 * y]).astype(np.uint8),
    }


@pytest.fixture(scope='module')
def plate_files(tmp_path_factory):
    """Ordinary and odd plate files: colour PNG/JPEG, grey, 16-bit, BGRA."""
    root = tmp_path_factory.mktemp('plate_files')
    return {name: _write(root / name, arr) for name, arr in _plate_arrays().items()}


@pytest.mark.parametrize('color_type', ['color', 'grayscale'])
@pytest.mark.parametrize('name', ['color.png', 'color.jpg', 'gray.png', 'sixteen_bit.png',
                                  'sixteen_bit_full.png', 'bgra.png', 'smooth.jpg'])
def test_files_decode_to_the_pixels_the_dataset_decodes(plate_files, name, color_type):
    """Inference must feed the model what evaluation feeds it: the grey
    conversion of the codec, not cvtColor's (1 to 13 levels apart)."""
    from dld.datasets.transforms.loading import read_plate_image
    got = read_image_file(plate_files[name], color_type)
    expected = read_plate_image(plate_files[name], color_type)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)


def _luma_grey(bgr: np.ndarray) -> np.ndarray:
    """BT.601 luma of a colour image, in 8 bits. The codec converts colour
    PNGs itself (libpng's fixed-point weights, within a level of this), so
    such grey is compared within one level."""
    if bgr.dtype == np.uint16:
        bgr = bgr / 257.0
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    return np.round(0.299 * r + 0.587 * g + 0.114 * b).astype(np.uint8)


def _expected_png_pixels(written: np.ndarray, color_type: str) -> np.ndarray:
    """What the docs promise a PNG decodes to: alpha dropped, 16-bit scaled to
    8-bit by its high byte (``>> 8``, as for uint16 arrays), grey converted by
    the codec, grey read as colour repeated in B, G and R."""
    if written.ndim == 3 and written.shape[2] == 4:
        written = written[..., :3]
    if color_type == 'grayscale':
        grey = written if written.ndim == 2 else _luma_grey(written)
        return grey[..., None]
    if written.ndim == 2:
        written = np.repeat(written[..., None], 3, axis=2)
    if written.dtype == np.uint16:
        written = (written >> 8).astype(np.uint8)
    return written


@pytest.mark.parametrize('color_type', ['color', 'grayscale'])
@pytest.mark.parametrize('name', ['color.png', 'gray.png', 'sixteen_bit.png',
                                  'sixteen_bit_full.png', 'bgra.png'])
def test_png_files_decode_to_the_pixels_written(plate_files, name, color_type):
    got = read_image_file(plate_files[name], color_type)
    expected = _expected_png_pixels(_plate_arrays()[name], color_type)
    assert got.dtype == np.uint8 and expected.dtype == np.uint8
    assert got.shape == expected.shape == (30, 90, 3 if color_type == 'color' else 1)
    written = _plate_arrays()[name]
    if color_type == 'grayscale' and written.ndim == 3:  # the codec's conversion
        assert np.abs(got.astype(int) - expected).max() <= 1
    else:
        assert np.array_equal(got, expected)


def test_jpeg_decodes_close_to_the_pixels_written(plate_files):
    written = _plate_arrays()['smooth.jpg'].astype(np.float64)
    got = read_image_file(plate_files['smooth.jpg'], 'color')
    assert got.shape == (30, 90, 3)
    err = np.abs(got - written)
    assert err.max() <= 8 and err.mean() <= 2
    # JPEG stores BT.601 luma; a grey read decodes it
    b, g, r = written[..., 0], written[..., 1], written[..., 2]
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    grey = read_image_file(plate_files['smooth.jpg'], 'grayscale')
    assert grey.shape == (30, 90, 1)
    err = np.abs(grey[..., 0] - luma)
    assert err.max() <= 3 and err.mean() <= 1


def test_exif_orientation_is_applied_as_the_dataset_applies_it(tmp_path):
    from PIL import Image

    from dld.datasets.transforms.loading import read_plate_image
    img = np.zeros((30, 90, 3), np.uint8)
    img[:, :30] = 255
    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise
    path = str(tmp_path / 'rotated.jpg')
    im.save(path, exif=exif.tobytes())
    for color_type in ('color', 'grayscale'):
        got = read_image_file(path, color_type)
        assert got.shape[:2] == (90, 30)
        assert np.array_equal(got, read_plate_image(path, color_type))


def test_header_over_pillows_own_limit_is_refused_by_ours(tmp_path):
    """Pillow raises DecompressionBombError above ~179 Mpx instead of giving
    the size; the image must still be held against max_pixels."""
    path = tmp_path / 'forged.png'
    path.write_bytes(_png_header(20000, 12000))  # 240 Mpx
    with pytest.raises(ImageInputError, match='exceeds the limit of 100000000') as info:
        read_image_file(str(path), max_pixels=100_000_000)
    assert info.value.source == str(path)


def test_header_over_pillows_limit_but_within_ours_goes_to_the_decoder(tmp_path):
    path = tmp_path / 'forged.png'
    path.write_bytes(_png_header(20000, 12000))  # 240 Mpx, its data a stub
    with pytest.raises(ImageInputError, match='cannot decode'):
        read_image_file(str(path), max_pixels=300_000_000)


def test_image_over_opencvs_limit_is_an_image_input_error(tmp_path):
    path = tmp_path / 'forged.png'
    path.write_bytes(_png_header(100000, 100000))  # 10 Gpx: cv2.imdecode raises
    with pytest.raises(ImageInputError, match="OpenCV's decoding limit") as info:
        read_image_file(str(path), max_pixels=None)
    assert info.value.source == str(path)


def test_a_file_of_another_kind_is_told_what_inputs_can_be(tmp_path):
    """A CSV of one's own dataset is no image; the error says what is read."""
    path = tmp_path / 'val.csv'
    path.write_text('lr.png,hr.png,ABC1234\n')
    with pytest.raises(ImageInputError, match=r'cannot decode.*label files \(\.txt \.tsv'):
        read_image_file(str(path))
    png = tmp_path / 'broken.png'
    png.write_bytes(b'not a png')
    with pytest.raises(ImageInputError) as err:
        read_image_file(str(png))
    assert 'label files' not in str(err.value)  # an image by name: just broken


def test_a_label_after_a_space_is_pointed_out(tmp_path):
    # 'imgs/a.png AB12' in a label file without its TAB: the path is the whole line.
    import cv2
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 24, 3), np.uint8))
    with pytest.raises(ImageInputError, match=r'a label after a space\?.*TAB'):
        read_image_file(str(tmp_path / 'a.png AB12'))
    with pytest.raises(ImageInputError, match=r'no such file or folder$'):
        read_image_file(str(tmp_path / 'b.png AB12'))


def test_a_quoted_pattern_says_it_is_one_and_what_it_matches(tmp_path):
    """infer.py "plates/*/lr 1.jpg" (quoted: the shell passed it on as a name)
    said only 'no such file or folder'."""
    import cv2
    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / 'lr 1.png'), np.zeros((8, 24, 3), np.uint8))
    with pytest.raises(ImageInputError, match=r'as a pattern it matches 2 file\(s\), which a '
                                              r'shell expands when the pattern is not quoted'):
        read_image_file(str(tmp_path / '*' / 'lr 1.png'))


# ---------------------------------------------------------------- arrays of other kinds
@pytest.mark.parametrize('dtype', [np.int8, np.int16, np.int32, np.int64, np.uint32])
def test_other_integer_arrays_of_8_bit_values_are_taken_as_they_are(dtype):
    out = normalize_image(np.array([[0, 1, 127]], dtype), 'a')
    assert out.dtype == np.uint8 and out.shape == (1, 3, 3)
    assert out[0, :, 0].tolist() == [0, 1, 127]


@pytest.mark.parametrize('dtype,values,shown', [
    (np.int8, [-5, 0, 127], 'from -5 to 127'),
    (np.int32, [0, 255, 70000], 'from 0 to 70000'),
    (np.uint32, [0, 128, 65535 * 257], f'from 0 to {65535 * 257}'),
])
def test_other_integer_arrays_beyond_8_bits_are_refused_not_clipped(dtype, values, shown):
    # clipped, 16-bit data in a uint32 array read as white: another plate
    with pytest.raises(ImageInputError, match=f'{np.dtype(dtype)} array with values {shown}'):
        normalize_image(np.array([values], dtype), 'a')


def test_uint16_arrays_are_scaled_down_not_clipped():
    out = normalize_image(np.array([[0, 256, 32768, 65535]], np.uint16), 'a')
    assert out[0, :, 0].tolist() == [0, 1, 128, 255]


def test_bool_arrays_become_black_and_white():
    out = normalize_image(np.array([[True, False]]), 'a')
    assert out.dtype == np.uint8 and out[0, :, 0].tolist() == [255, 0]


@pytest.mark.parametrize('dtype', [np.complex64, object, 'datetime64[s]'])
def test_an_array_of_an_unsupported_dtype_raises_naming_it(dtype):
    array = np.zeros((4, 5, 3), dtype)
    with pytest.raises(ImageInputError) as info:
        normalize_image(array, 'array[3]')
    assert info.value.source == 'array[3]'
    assert info.value.reason == f'unsupported array dtype {array.dtype}'


@pytest.mark.parametrize('value,kind', [([[0, 1], [2, 3]], 'list'), ('a.png', 'str'),
                                        (None, 'NoneType')])
def test_something_other_than_an_array_raises_naming_its_type(value, kind):
    with pytest.raises(ImageInputError, match=f'expected a numpy array, got {kind}'):
        normalize_image(value, 'array[0]')


def test_grayscale_color_type_converts_bgr_as_opencv_does():
    import cv2
    bgr = np.random.default_rng(0).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    out = normalize_image(bgr, 'a', color_type='grayscale')
    assert out.shape == (6, 9, 1) and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def test_grayscale_color_type_drops_alpha_and_keeps_grey_arrays_as_they_are():
    import cv2
    rng = np.random.default_rng(0)
    bgra = rng.integers(0, 256, (6, 9, 4), dtype=np.uint8)
    out = normalize_image(bgra, 'a', color_type='grayscale')
    assert np.array_equal(out[..., 0], cv2.cvtColor(bgra[..., :3], cv2.COLOR_BGR2GRAY))
    grey = rng.integers(0, 256, (6, 9), dtype=np.uint8)
    assert np.array_equal(normalize_image(grey, 'a', color_type='grayscale')[..., 0], grey)


def test_an_unknown_color_type_is_refused():
    with pytest.raises(ValueError, match="color_type must be 'color' or 'grayscale', got 'gray'"):
        normalize_image(np.zeros((4, 5, 3), np.uint8), 'a', color_type='gray')


def test_big_endian_uint16_arrays_are_scaled_down_too():
    array = np.array([[0, 256, 32768, 65535]], '>u2')
    assert normalize_image(array, 'a')[0, :, 0].tolist() == [0, 1, 128, 255]



def test_a_fifo_or_a_device_is_refused_not_read(tmp_path):
    """infer.py waited on a FIFO until killed and read /dev/zero until its
    memory ran out, then said 'preprocessing failed: ' (a security review)."""
    import os
    fifo = tmp_path / 'frame.png'
    os.mkfifo(fifo)
    for path, says in ((str(fifo), 'is a FIFO (named pipe), not an image file'),
                       ('/dev/zero', 'is a device, not an image file')):
        with pytest.raises(ImageInputError) as info:
            read_image_file(path)
        assert says in str(info.value)


def test_an_encoded_files_bytes_as_a_uint8_vector_get_a_hint():
    """np.frombuffer(request.body, np.uint8) is a service's usual slip:
    'array of shape (2064,) is not an image' said nothing of bytes."""
    import cv2
    body = cv2.imencode('.png', np.zeros((8, 24, 3), np.uint8))[1].tobytes()
    with pytest.raises(ImageInputError, match=r"an encoded image file's bytes \(np.frombuffer "
                                              r'of a request body\)\? give them as bytes'):
        normalize_image(np.frombuffer(body, np.uint8), 'body')
    with pytest.raises(ImageInputError) as err:  # another 1-D array: no such hint
        normalize_image(np.zeros(5, np.float32), 'x')
    assert 'bytes' not in str(err.value)


def test_a_missing_path_says_when_it_is_there_in_another_unicode_form_or_has_backslashes(
        tmp_path):
    """'no such file or folder' alone for a name copied from a Mac (NFD on
    disk, NFC typed) or a label file written on Windows (an own-data journey)."""
    import unicodedata

    import cv2
    decomposed = unicodedata.normalize('NFD', 'Straße-ü.png')
    cv2.imwrite(str(tmp_path / decomposed), np.zeros((8, 24, 3), np.uint8))
    typed = str(tmp_path / unicodedata.normalize('NFC', 'Straße-ü.png'))
    with pytest.raises(ImageInputError) as info:
        read_image_file(typed)
    assert info.value.reason == (
        'no such file or folder; it is there spelt in Unicode form NFD (accented letters as a '
        'letter and a mark): a name copied from another system; write the path as the disk '
        'spells it')
    with pytest.raises(ImageInputError) as info:
        read_image_file(str(tmp_path) + '\\cam\\lr_001.png')
    assert info.value.reason == ("no such file or folder; a path with backslashes: written on "
                                 "Windows? Write it with '/', which every system reads")
    with pytest.raises(ImageInputError) as info:
        read_image_file(str(tmp_path / 'gone.png'))
    assert info.value.reason == 'no such file or folder'


@pytest.mark.parametrize('dtype', [np.uint16, '>u2'])
def test_a_uint16_array_of_8_bit_values_is_read_as_they_are_not_as_black(dtype):
    """An 8-bit crop cast to uint16 (``img.astype(np.uint16)``) scaled down
    by its high byte read as a black image: another plate, no warning (a
    service journey)."""
    values = np.array([[0, 17, 128, 255]], dtype)
    assert normalize_image(values, 'a')[0, :, 0].tolist() == [0, 17, 128, 255]
    from dld.deploy.onnx_reader import array_to_uint8
    assert array_to_uint8(values).tolist() == [[0, 17, 128, 255]]
    # one value above 255: 16-bit data, scaled down as before
    assert normalize_image(np.array([[255, 256]], dtype), 'a')[0, :, 0].tolist() == [0, 1]


@pytest.mark.parametrize('shape, says', [
    ((4, 8, 24, 3), 'a batch of 4 images? give them as a list (list(batch))'),
    ((3, 8, 24), 'channels first (C, H, W)? give img.transpose(1, 2, 0)'),
])
def test_a_stacked_batch_or_a_channels_first_array_is_told_how_to_give_it(shape, says):
    with pytest.raises(ImageInputError, match=re.escape(says)):
        normalize_image(np.zeros(shape, np.uint8), 'array[0]')


@pytest.mark.parametrize('color_type', ['color', 'grayscale'])
def test_a_16_bit_file_of_8_bit_values_reads_as_they_are_not_as_black(tmp_path, color_type):
    """``cv2.imwrite(path, img.astype(np.uint16))`` read as a black image from
    the file (OpenCV's high byte), as the same array handed to inference
    did not: files follow the rule of uint16 arrays now."""
    import cv2

    from dld.datasets.transforms.loading import read_plate_image
    grey = np.random.default_rng(1).integers(0, 256, (12, 36), dtype=np.uint8)
    path = _write(tmp_path / 'eight_in_sixteen.png', grey.astype(np.uint16))
    assert cv2.imread(path, cv2.IMREAD_UNCHANGED).dtype == np.uint16
    for got in (read_image_file(path, color_type), read_plate_image(path, color_type)):
        assert got.dtype == np.uint8 and np.array_equal(got[..., 0], grey)
    assert np.array_equal(read_image_file(path, color_type),
                          normalize_image(grey.astype(np.uint16), 'a', color_type))


def test_a_12_bit_sensor_in_a_16_bit_file_is_warned_of_once(tmp_path, monkeypatch):
    """An infrared camera's 12-bit values in 16-bit PNGs read as grey levels
    0 to 15 without a word; the high-byte rule stays, and is said once."""
    from log_records import current_log_records

    from dld.datasets.transforms import loading
    monkeypatch.setattr(loading, '_WARNED_DIM_SIXTEEN_BIT', False)
    twelve = (np.arange(4000, dtype=np.uint16).reshape(40, 100))
    path = _write(tmp_path / 'twelve.png', twelve)
    full = _write(tmp_path / 'full.png', twelve * 16)
    with current_log_records() as records:
        read_image_file(full, 'grayscale')
        assert not records
        assert read_image_file(path, 'grayscale').max() == 3999 >> 8
        read_image_file(path, 'grayscale')
    said = [r.getMessage() for r in records if '16-bit image' in r.getMessage()]
    assert len(said) == 1 and 'reach only 3999 (12 bits)' in said[0]
