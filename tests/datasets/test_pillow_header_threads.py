"""Pillow's header reads in several threads at once leave the process's
warning filters as they found them.

A header Pillow reads (WebP, TIFF...) was read inside
``warnings.catch_warnings``, which swaps the process's filter list for a
copy and puts back the list it found: two reads overlapping in two threads
(one PlateRecognizer per thread, threads sharing an OnnxPlateReader) put
back the other's copy, leaving ``ignore DecompressionBombWarning`` in the
process for good. The overlap is forced here, not left to chance.
"""
import threading
import warnings

import numpy as np
import pytest

#: a WebP's first bytes: no PNG, JPEG or BMP header, so Pillow reads it
WEBP_LIKE = b'RIFF\x24\x00\x00\x00WEBPVP8 ' + bytes(24)


def _header_too_large(buf):
    from dld.datasets.transforms.loading import header_too_large
    return header_too_large(buf, 10**8)


def _onnx_header_size(buf):
    from dld.deploy.onnx_reader import _header_size
    return _header_size(np.frombuffer(buf, np.uint8))


class _FakeImage:
    size = (90, 30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize('read', [_header_too_large, _onnx_header_size],
                         ids=['PlateRecognizer', 'OnnxPlateReader'])
def test_two_threads_reading_headers_at_once_leave_no_warning_filter(monkeypatch, read):
    from PIL import Image

    import dld.datasets.transforms.loading  # noqa: F401 - imports add filters of their own
    import dld.deploy.onnx_reader  # noqa: F401
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def slow_open(fp, *args, **kwargs):
        # the first read waits (1 s at most) for the second to be inside too;
        # the second leaves only once the first has left
        if threading.current_thread().name == 'first':
            first_in.set()
            second_in.wait(1.0)
        else:
            second_in.set()
            first_out.wait(1.0)
        return _FakeImage()

    monkeypatch.setattr(Image, 'open', slow_open)
    results, errors = {}, []

    def run(name):
        try:
            if name == 'second':
                first_in.wait(5.0)
            results[name] = read(WEBP_LIKE)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
        finally:
            if name == 'first':
                first_out.set()

    with warnings.catch_warnings():  # whatever happens, the session's filters come back
        before = list(warnings.filters)
        threads = [threading.Thread(target=run, args=(n, ), name=n) for n in ('first', 'second')]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10.0)
        after = list(warnings.filters)
    assert errors == []
    assert set(results) == {'first', 'second'}
    assert results['first'] == results['second']
    assert after == before, f'left behind: {[f for f in after if f not in before]}'
