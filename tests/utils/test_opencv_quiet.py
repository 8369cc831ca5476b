"""A corrupt image is reported once, by DLD, not also by OpenCV on stderr."""
import threading

import cv2
import numpy as np

from dld.datasets.transforms.loading import decode_plate_image
from dld.utils.opencv_quiet import opencv_quiet


def _corrupt_png() -> bytes:
    ok, png = cv2.imencode('.png', np.zeros((10, 30, 3), np.uint8))
    data = bytearray(png.tobytes())
    data[12:16] = b'XXXX'  # the IHDR chunk's name
    return bytes(data)


def test_a_corrupt_png_decodes_to_none_without_opencvs_error_line(capfd):
    logging = cv2.utils.logging
    before = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_WARNING)  # whatever OPENCV_LOG_LEVEL says
    try:
        assert decode_plate_image(_corrupt_png()) is None
        assert 'readHeader' not in capfd.readouterr().err
        # outside a decode OpenCV logs as the user set it
        cv2.imdecode(np.frombuffer(_corrupt_png(), np.uint8), cv2.IMREAD_COLOR)
        assert 'readHeader' in capfd.readouterr().err
    finally:
        logging.setLogLevel(before)


def test_a_process_forked_mid_decode_starts_free_and_at_the_users_level():
    import os

    from dld.utils import opencv_quiet as module
    level = cv2.utils.logging.getLogLevel()
    with opencv_quiet():
        pid = os.fork()
        if pid == 0:  # the child: the lock is free and the level restored
            ok = (module._lock.acquire(timeout=5) and module._depth == 0
                  and cv2.utils.logging.getLogLevel() == level)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_threads_decoding_together_leave_the_level_as_it_was():
    level = cv2.utils.logging.getLogLevel()
    start = threading.Barrier(4)

    def decode_many():
        start.wait()
        for _ in range(50):
            with opencv_quiet():
                decode_plate_image(_corrupt_png())

    threads = [threading.Thread(target=decode_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cv2.utils.logging.getLogLevel() == level
