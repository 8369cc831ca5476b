"""Write a result file whole or not at all."""
import json
import os
import os.path as osp
import re
import secrets
import stat
import sys
from typing import IO, Any, Callable, Dict, Optional, Tuple


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place.

    Why: the schedule counts a step as done once its result file exists, and
    the reports read those files; a kill mid-write must leave the old file
    or none, never half a file that then counts as done. (A kill, not a
    power cut: the file is not synced to disk, so that writing thousands,
    as the plate generator does, stays fast.) A folder of ``path`` that is
    not there yet is made.
    """
    write_file_atomic(path, lambda f: f.write(text), text=True)


def write_file_atomic(path: str, write: Callable[[IO], Any], text: bool = False) -> None:
    """``write(f)`` into ``path`` as :func:`write_text_atomic` writes: whole
    or not at all; ``f`` is binary unless ``text`` (UTF-8, ``\\n`` lines)."""
    mode = dict(mode='w', encoding='utf-8', newline='\n') if text else dict(mode='wb')
    if is_stream(path):
        # `--out /dev/stdout`, a named pipe, `>(jq .)`: written into as it is. A
        # temporary renamed onto it replaced the link /dev/stdout (as root) or
        # the pipe with a plain file, for every later process too, and wrote
        # nothing where it was asked.
        options = {k: v for k, v in mode.items() if k != 'mode'}
        own = own_descriptor(path)
        if own is not None:
            # this process's own stdout (or another descriptor of it), which
            # may be a file (`> out.txt`): written through that descriptor,
            # after what was printed and before what is printed next. Opened
            # anew by name, the file had a position of its own: the lines
            # printed after (test.py's 'Metrics written to') were written
            # over the start of the JSON, and those still buffered too.
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (AttributeError, OSError, ValueError):
                    pass
            try:
                dup = os.dup(own)
            except OSError:
                dup = None
            if dup is not None:
                with open(dup, mode['mode'], **options) as f:  # an fd: nothing truncated
                    write(f)
                return
        # appended: a file reached by another process's descriptor keeps
        # what was written before
        with open(path, mode['mode'].replace('w', 'a'), **options) as f:
            write(f)
        return
    try:
        tmp, fd = new_temporary(path)
    except FileNotFoundError:  # a new folder (`--json out/t.json` after a long run)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp, fd = new_temporary(path)
    try:
        with os.fdopen(fd, **mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):  # a full disk, say: no stray temporary file
            os.remove(tmp)
        if isinstance(err, OSError) and err.filename is None:
            # a write's error names no file ("[Errno 28] No space left on
            # device"): the tools' one line names the file it was for
            err.filename = path
        raise


def is_stream(path: str) -> bool:
    """Whether ``path`` is no file to replace but a stream to write into: a
    pipe, a device or a socket there (``/dev/stdout``, ``/dev/null``, a
    named pipe, the ``/dev/fd/63`` of ``>(jq .)``), or a process's standard
    stream or descriptor reached by name (``/dev/stdout`` of a stdout
    redirected to a file, whose target is a plain file; a link to it).
    A plain file under ``/dev/shm`` is a file."""
    if not path or not osp.exists(path):  # a new file (`/proc/nope/m.json`: its folder said)
        return False
    if _descriptor_name(path) is not None:
        return True
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # gone since, or a name it cannot be
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def own_descriptor(path: str) -> Optional[int]:
    """The descriptor of this process that ``path`` names (``/dev/stdout``:
    1, ``/proc/self/fd/3``: 3, a link to one), or None: another process's,
    or a name that is no descriptor."""
    found = _descriptor_name(path)
    if found is None:
        return None
    std, fd, proc, proc_fd = found.groups()
    if std is not None:
        return {'stdout': 1, 'stderr': 2}[std]
    if fd is not None:
        return int(fd)
    return int(proc_fd) if proc in ('self', 'thread-self', str(os.getpid())) else None


_DESCRIPTOR_NAME = re.compile(
    r'^/(?:dev/(?:(stdout|stderr)|fd/(\d+))|proc/(self|thread-self|\d+)/fd/(\d+))$')


def _descriptor_name(path: str) -> Optional[re.Match]:
    """The match of the first name on ``path``'s chain of links (itself
    first) that names a process's descriptor (``out.json ->
    /proc/self/fd/1`` too), or None."""
    hop = osp.abspath(path)
    for _ in range(40):
        found = _DESCRIPTOR_NAME.match(hop)
        if found or not osp.islink(hop):
            return found
        hop = osp.normpath(osp.join(osp.dirname(hop), os.readlink(hop)))
    return None


def new_temporary(path: str) -> Tuple[str, int]:
    """A new file beside ``path`` to write it through, and its descriptor.

    Created exclusively (``O_EXCL``, which follows no link), under a name no
    one can foresee: with ``{path}.tmp{pid}`` opened for writing, a link
    planted under that name in a shared folder had the write go to the
    file it pointed at. Readable as a plain new file is (the umask's)."""
    for _ in range(100):
        tmp = f'{path}.tmp{os.getpid()}-{secrets.token_hex(4)}'
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f'no new temporary file could be made beside {path}')


def write_json_atomic(path: str, obj: Any, **dump_kwargs) -> None:
    """``json.dump(obj)`` to ``path`` via :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(obj, **dump_kwargs) + '\n')


def write_files_together(out_dir: str, writers: Dict[str, Callable[[str], None]]
                         ) -> Dict[str, str]:
    """Write the files of one result into ``out_dir`` together: each
    ``writers[name](path)`` writes its file to a temporary name, and only
    once all are made are they renamed into place, in ``writers``' order
    (put the file that says the result is whole, its JSON, last). A failure
    part-way (a plot that cannot be drawn, a full disk) leaves the previous
    files whole rather than a mix of new and old. Returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, name) for name in writers}
    tmp = {}
    name = None
    try:
        for name, path in paths.items():  # made here, exclusively; the writers fill them
            tmp[name], fd = new_temporary(path)
            os.close(fd)
        for name, write in writers.items():
            write(tmp[name])
    except BaseException as err:
        for path in tmp.values():
            if os.path.exists(path):
                os.remove(path)
        if isinstance(err, OSError) and err.filename in (None, tmp.get(name)) and name:
            err.filename = paths[name]  # the file it was for, not its temporary one
        raise
    for name in writers:
        os.replace(tmp[name], paths[name])
    return paths


def text_writer(content: str) -> Callable[[str], None]:
    """A writer of ``content`` (UTF-8) for :func:`write_files_together`."""
    def write(path: str) -> None:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(content)
    return write
