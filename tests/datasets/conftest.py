"""Tiny on-disk plate data made inside each test."""
import struct
import zlib

import numpy as np
import pytest
from plate_files import write_png


@pytest.fixture
def write_labels():
    """``write_labels(root, *lines, name='labels.txt') -> path``."""
    def _write(root, *lines, name='labels.txt'):
        path = root / name
        path.write_text(''.join(line + '\n' for line in lines))
        return str(path)
    return _write


@pytest.fixture
def png_writer():
    """``png_writer(path, h, w, value, channels) -> path``."""
    return write_png


@pytest.fixture
def read_alike_from_any_global_state():
    """``read(ds, idx) -> item``: reads item ``idx`` under two global numpy
    states, asserts both reads give the same images and that the state is
    given back (as after ``--resume``, or in another dataloader worker)."""
    def _read(ds, idx):
        np.random.seed(1)
        first = ds[idx]
        np.random.seed(2)
        state = np.random.get_state()
        again = ds[idx]
        assert np.random.get_state()[1].tolist() == state[1].tolist()
        for key in ('img', 'img_hr'):
            np.testing.assert_array_equal(first[key], again[key])
        return first
    return _read


@pytest.fixture
def write_oversized_png():
    """``write_oversized_png(path) -> path``: a PNG whose header claims
    100000 x 100000 pixels, which OpenCV refuses to decode (``cv2.error``)."""
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))

    def _write(path):
        header = struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0)
        path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
                         + chunk(b'IDAT', zlib.compress(b'\x00' * 16)) + chunk(b'IEND', b''))
        return path
    return _write
