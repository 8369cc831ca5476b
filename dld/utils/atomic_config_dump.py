"""MMEngine's ``Config.dump``, writing a file whole or not at all.

MMEngine writes the work dir's copy of a run's config and
``vis_data/config.py`` with a plain ``open('w')``: a full disk left them
cut short (4096 of 15634 bytes), a copy that no longer loads or loads other
settings; where the config run is that very copy (``tools/train.py
work_dirs/x/x.py --resume``), the only one.
"""
import contextlib
import threading

from mmengine.config import Config


@contextlib.contextmanager
def atomic_config_dumps():
    """``Config.dump(file)`` writes ``file`` whole or not at all in the block
    (:func:`~dld.utils.atomic_file.write_file_atomic`); MMEngine's class is
    patched once for every block open at a time (runners built in threads)."""
    global _atomic_dumps
    with _atomic_dumps_lock:  # runners built in threads at once: one patch, undone by the last
        if _atomic_dumps == 0:
            Config.dump = _atomic_dump
        _atomic_dumps += 1
    try:
        yield
    finally:
        with _atomic_dumps_lock:
            _atomic_dumps -= 1
            if _atomic_dumps == 0:
                Config.dump = _plain_dump


_plain_dump = Config.dump
_atomic_dumps = 0
_atomic_dumps_lock = threading.Lock()


def _atomic_dump(self, file=None):
    """:meth:`Config.dump` that writes a file whole or not at all."""
    from dld.utils.atomic_file import write_file_atomic
    if file is None:
        return _plain_dump(self, file)
    file = str(file)
    if file.endswith('.py'):
        text = self.pretty_text
    else:
        from mmengine.fileio import dump as dump_text
        text = dump_text(self.to_dict(), file_format=file.split('.')[-1])
    # a pickle's is bytes (write_text_atomic refused it: TypeError)
    data = text.encode('utf-8') if isinstance(text, str) else text
    write_file_atomic(file, lambda f: f.write(data))
