"""Writes that fail as on a full disk, for the files whose path holds a part."""
import builtins
import errno
import os

from dld.utils import atomic_file


def fill_disk_for(monkeypatch, part: str) -> None:
    """Every write to a file opened (``open``, or ``os.fdopen`` of an
    :func:`~dld.utils.atomic_file.new_temporary`) under a path holding
    ``part`` raises ``OSError(ENOSPC)``, as a full disk does: the file is
    made, its bytes are refused."""
    real_open, real_fdopen, real_new = builtins.open, os.fdopen, atomic_file.new_temporary
    names = {}

    def refused(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def full(f, name):
        if part in str(name) and any(m in getattr(f, 'mode', '') for m in 'wax+'):
            f.write = refused
        return f

    def new_temporary(path):
        tmp, fd = real_new(path)
        names[fd] = tmp
        return tmp, fd

    monkeypatch.setattr(builtins, 'open',
                        lambda file, *a, **k: full(real_open(file, *a, **k), file))
    monkeypatch.setattr(os, 'fdopen',
                        lambda fd, *a, **k: full(real_fdopen(fd, *a, **k), names.get(fd, '')))
    monkeypatch.setattr(atomic_file, 'new_temporary', new_temporary)
