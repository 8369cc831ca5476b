"""Keep OpenCV's own error lines off stderr while DLD decodes images.

A corrupt PNG made OpenCV print ``[ERROR:0@...] readHeader IHDR chunk shall
be first`` for every read, beside the error record or message that DLD
gives for the same image. Its log level is process-wide, so it is lowered
only while a decode runs and restored by the last decode to finish: two
threads decoding at once cannot leave it lowered.
"""
import contextlib
import os
import threading
from typing import Iterator

import cv2

_logging = getattr(getattr(cv2, 'utils', None), 'logging', None)
_lock = threading.Lock()
_depth = 0
_saved = None


@contextlib.contextmanager
def opencv_quiet() -> Iterator[None]:
    """OpenCV logs nothing inside; its level as before outside."""
    global _depth, _saved
    if _logging is None:  # a build without the logging module
        yield
        return
    with _lock:
        if _depth == 0:
            _saved = _logging.getLogLevel()
            _logging.setLogLevel(_logging.LOG_LEVEL_SILENT)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _logging.setLogLevel(_saved)


def _after_fork_in_child() -> None:
    """A process forked mid-decode (a loader worker) starts with a free lock
    and OpenCV's level as it was before that decode."""
    global _lock, _depth
    if _depth and _logging is not None:
        _logging.setLogLevel(_saved)
    _lock, _depth = threading.Lock(), 0


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)
