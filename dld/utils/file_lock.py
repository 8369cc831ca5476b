"""An exclusive lock between processes on a file, for work only one may do."""
import contextlib
import os
import os.path as osp
from typing import Callable, Iterator, Optional


@contextlib.contextmanager
def file_lock(path: str, on_wait: Optional[Callable[[], None]] = None) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created) for the block; yields
    whether another process held it first (and so may have done the work).

    ``on_wait`` is called once before waiting (to say why nothing happens).
    A no-op where ``fcntl`` is missing (not POSIX). Locks of one process
    on two opens of a file exclude each other: callers that nest keep count.
    """
    try:
        import fcntl
    except ImportError:
        yield False
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'a') as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            waited = False
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(f, fcntl.LOCK_EX)
            waited = True
        try:
            yield waited
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
