"""Loading checkpoints with ``torch.load(weights_only=True)``, and saving them
without ever leaving a half-written file.

Why: unpickling a file can run arbitrary code, so torch (>= 2.6) loads with
``weights_only=True`` by default and refuses any class it does not know.
MMEngine 0.10.x checkpoints hold a few such classes (the message hub's
:class:`~mmengine.logging.HistoryBuffer`, numpy arrays and scalars), so its own
``torch.load`` fails on its own files and ``--resume`` breaks. We do not turn
``weights_only`` off; we allow-list exactly the types our checkpoints hold.

Importing :mod:`dld.engine` (which every build in the ``dld`` scope does, and
the tools do explicitly) calls :func:`register_checkpoint_io`, which

* adds :data:`CHECKPOINT_SAFE_GLOBALS` to torch's process-wide allow-list, so
  any ``torch.load(..., weights_only=True)`` accepts our checkpoints;
* replaces MMEngine's local-file loader (the ``''`` scheme of
  :class:`~mmengine.runner.CheckpointLoader`, used by ``Runner.resume``,
  ``Runner.load_checkpoint``, ``load_from`` and
  :func:`mmengine.runner.load_checkpoint`) by :func:`load_checkpoint_file`,
  which always passes ``weights_only=True`` and turns torch's refusal into a
  :class:`CheckpointGlobalError` naming the file and the global, and a file
  torch cannot read at all (truncated, corrupt, not a checkpoint) into a
  :class:`CheckpointReadError` naming the file;
* refuses every checkpoint named by a URL (``http(s)://``, MMEngine's
  ``torchvision://``, ``open-mmlab://``, ``s3://``... and any other
  ``scheme://``): nothing is downloaded at run time, and torch.hub's cache,
  keyed by file name alone, would hand one server's file to another URL of
  that name (:class:`CheckpointURLError`);
* registers the ``dld_atomic_local`` file backend
  (:class:`AtomicLocalBackend`), which :class:`AtomicCheckpointHook` uses to
  write checkpoints to a temporary file and rename it into place.
"""
import errno
import locale
import logging
import os
import os.path as osp
import pickle
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint

#: Name under which :class:`AtomicLocalBackend` is registered in MMEngine's
#: file backends; use it as ``backend_args=dict(backend=ATOMIC_BACKEND)``.
ATOMIC_BACKEND = 'dld_atomic_local'

_SafeGlobal = Union[Callable, Tuple[Callable, str]]


def _numpy_globals() -> List[_SafeGlobal]:
    """What pickled numpy arrays and scalars reference.

    The message hub keeps logged values as ``float64``/``int64`` arrays
    (:class:`HistoryBuffer`) and runtime info such as ``eta`` or the best score
    as numpy scalars. numpy 2 pickles these under ``numpy._core``; files
    written with numpy 1.x name ``numpy.core``, so both spellings are listed.
    """
    multiarray = getattr(np, '_core', None)
    multiarray = getattr(multiarray, 'multiarray', None) or np.core.multiarray
    reconstruct = multiarray._reconstruct
    scalar = multiarray.scalar
    dtype_classes = {
        type(np.dtype(t))
        for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                  np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                  np.float64)
    }
    out: List[_SafeGlobal] = [np.ndarray, np.dtype, reconstruct, scalar]
    out += sorted(dtype_classes, key=lambda c: c.__name__)
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        out.append((reconstruct, f'{mod}._reconstruct'))
        out.append((scalar, f'{mod}.scalar'))
    return out


class PlainHistoryBuffer(HistoryBuffer):
    """A :class:`HistoryBuffer` that pickles as data only.

    ``HistoryBuffer.__getstate__`` adds the class's registry of statistics
    functions (``HistoryBuffer.min`` ...) to the pickled state; pickle stores
    those as ``builtins.getattr(HistoryBuffer, 'min')``, and allow-listing
    ``getattr`` would let a crafted file reach any attribute of any allowed
    object. The functions are registered at import anyway, so
    :class:`~dld.engine.hooks.AtomicCheckpointHook` swaps the message hub's
    buffers for this subclass before saving, and the saved state is just the
    arrays. It is still a ``HistoryBuffer``, so ``MessageHub.load_state_dict``
    takes it as is.
    """

    #: What an instance holds; a loaded state keeps these only.
    STATE_KEYS = ('max_length', '_log_history', '_count_history')

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('statistics_methods', None)
        return state

    def __setstate__(self, state: dict) -> None:
        """Take the arrays, nothing else. ``HistoryBuffer.__setstate__``
        puts a state's ``statistics_methods`` into the registry of the class,
        which every buffer of the process calls: a crafted checkpoint made
        ``mean`` any allow-listed callable, and logging failed afterwards."""
        self.__dict__.update((k, v) for k, v in state.items() if k in self.STATE_KEYS)

    @classmethod
    def from_buffer(cls, buffer: HistoryBuffer) -> 'PlainHistoryBuffer':
        plain = cls.__new__(cls)
        plain.__dict__.update(
            (k, v) for k, v in buffer.__dict__.items() if k != 'statistics_methods')
        return plain


def make_checkpoint_plain(checkpoint: dict) -> dict:
    """Make ``checkpoint`` loadable with the allow-list, in place.

    * The message hub's history buffers become :class:`PlainHistoryBuffer`.
    * Callables are dropped from parameter-scheduler states: ``OneCycleLR``
      keeps its annealing function as a bound method in ``__dict__``, which
      pickles the whole scheduler via ``getattr``. A freshly built scheduler
      already has that function and ``load_state_dict`` only updates what
      the checkpoint holds.
    """
    hub = checkpoint.get('message_hub')
    if isinstance(hub, dict) and isinstance(hub.get('log_scalars'), dict):
        scalars = hub['log_scalars']
        for key, value in scalars.items():
            if isinstance(value, HistoryBuffer):
                scalars[key] = PlainHistoryBuffer.from_buffer(value)
    schedulers = checkpoint.get('param_schedulers')
    if isinstance(schedulers, dict):
        groups = list(schedulers.values())
    elif schedulers is not None:
        groups = [schedulers]
    else:
        groups = []
    for states in groups:
        for state in states:
            for key in [k for k, v in state.items() if callable(v)]:
                del state[key]
    return checkpoint


#: Every non-torch type a DLD checkpoint may contain, found by saving
#: checkpoints of real runs and listing what ``weights_only`` refuses
#: (``torch.serialization.get_unsafe_globals_in_checkpoint``), after
#: :func:`make_checkpoint_plain`. Plain data only: nothing here runs code when
#: unpickled, and no ``getattr``.
CHECKPOINT_SAFE_GLOBALS: List[_SafeGlobal] = [PlainHistoryBuffer] + _numpy_globals()

_registered = False
_UMASK = os.umask(0)
os.umask(_UMASK)


class CheckpointGlobalError(pickle.UnpicklingError):
    """A checkpoint needs a pickled global that is not on the allow-list."""

    def __init__(self, filename: str, global_name: Optional[str], detail: str):
        self.filename = filename
        self.global_name = global_name
        what = f'the global `{global_name}`' if global_name else 'a global'
        advice = ('It is code, not data (a command, a file opened, a module loaded): '
                  'the file was made to run it when opened; do not allow it, and do not '
                  'load the file otherwise.' if _runs_code(global_name) else
                  'If you trust this file and the type is plain data, allow it before '
                  'loading with `dld.engine.checkpoint.allow_checkpoint_globals([YourType])`; '
                  'otherwise re-save only its tensors (e.g. its "state_dict").')
        super().__init__(
            f'Refusing to load checkpoint {filename!r}: it needs {what}, which '
            'is not on DLD\'s allow-list of checkpoint types. DLD loads '
            'checkpoints with torch.load(weights_only=True) so that opening a '
            f'file cannot run code. {advice}\n'
            f'{_hint(global_name)}torch said: {detail}')


class CheckpointReadError(RuntimeError):
    """A file that is not a readable PyTorch checkpoint: truncated, corrupt, or
    not written by ``torch.save``.

    torch's own errors for these name neither the file nor the problem
    (``KeyError: 101`` for a text file, ``[Errno 22] Invalid argument`` for a
    truncated archive).
    """

    def __init__(self, filename: str, detail: str):
        self.filename = filename
        try:
            size = f'{osp.getsize(filename)} bytes'
        except OSError:
            size = 'size unknown'
        super().__init__(
            f'Cannot read checkpoint {filename!r} ({size}): it is not a readable '
            'PyTorch checkpoint. It may be truncated (an interrupted save, copy or '
            'download), corrupt, or not a file written by torch.save. Check the '
            f'file or copy it again.\ntorch said: {detail}')


class CheckpointURLError(OSError):
    """A checkpoint named by a URL: DLD reads local files only.

    Why: nothing may download at run time, and MMEngine's URL loaders go
    through torch.hub, whose cache is keyed by the file's name alone (no
    hash): a ``bait.pth`` fetched once from anywhere stood in for a later,
    trusted ``.../bait.pth``. (``s3://`` and ``pavi://`` read with
    ``weights_only=False``.) An OSError, so that every tool that reports a
    checkpoint it cannot open reports this one in its line.
    """

    def __init__(self, url: str):
        self.url = url
        local = url[len('file://'):] if url.lower().startswith('file://') else None
        advice = (f'give the path itself: {local}' if local is not None else
                  'download it yourself, check it against its published hash, and give '
                  'the local path')
        super().__init__(f'{url}: DLD reads checkpoints from local files only (nothing is '
                         f'downloaded at run time); {advice}')

    def __str__(self) -> str:  # OSError's would be its errno form
        return self.args[0]


class CheckpointWriteError(OSError):
    """A checkpoint (or its pointer) could not be written: a full disk, a
    quota, a file size limit (``ulimit -f``), an I/O error. Named with the
    file and its size (the bare error named none); what was written before
    is whole (:class:`AtomicLocalBackend`)."""

    def __str__(self) -> str:  # the message alone, not OSError's '[Errno 28] ...'
        return self.strerror or super().__str__()


class CheckpointFitError(RuntimeError):
    """A readable checkpoint whose weights do not fit the model the config
    builds (a teacher of other widths, of another decoder). A RuntimeError,
    as torch's load_state_dict raises, and a checkpoint error of its own, so
    that the tools report it in one line (it was a traceback)."""


#: A checkpoint DLD refuses to read: what a tool reports in one line.
CHECKPOINT_ERRORS = (CheckpointGlobalError, CheckpointReadError, CheckpointURLError,
                     CheckpointFitError)

_URL = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


def is_url(name: Any) -> bool:
    """Whether ``name`` is a ``scheme://`` URL rather than a local path."""
    return isinstance(name, (str, os.PathLike)) and bool(_URL.match(os.fspath(name)))


def refuse_url(name: Any) -> None:
    """Raise :class:`CheckpointURLError` for a URL; nothing for a path."""
    if is_url(name):
        raise CheckpointURLError(os.fspath(name))


#: Modules whose globals in a pickle run code or touch the system: a
#: checkpoint naming one was made to attack, not to hold a type of its own.
_CODE_MODULES = {'os', 'posix', 'nt', 'subprocess', 'sys', 'io', 'shutil', 'socket',
                 'runpy', 'importlib', 'pty', 'webbrowser', 'code', 'ctypes', 'pickle',
                 'marshal', 'functools', 'operator', 'codecs', 'timeit', 'pdb', 'cProfile',
                 'profile', 'trace', 'doctest', 'multiprocessing', 'asyncio', 'threading'}


def _runs_code(global_name: Optional[str]) -> bool:
    """Whether ``global_name`` (``posix.system``) is code rather than a type
    of data: a function of a module that runs code or touches the system,
    a test helper that runs a string (``numpy.testing..runstring``), or a
    builtin (torch names them bare: ``eval``, ``__import__``), but for
    ``getattr``, which plain MMEngine's checkpoints need (:func:`_hint`)."""
    if not global_name:
        return False
    parts = global_name.split('.')
    if len(parts) == 1 or parts[0] in ('builtins', '__builtin__'):
        return parts[-1] != 'getattr'
    return parts[0] in _CODE_MODULES or 'testing' in parts


def _hint(global_name: Optional[str]) -> str:
    if global_name in ('builtins.getattr', '__builtin__.getattr', 'getattr',
                       'mmengine.logging.history_buffer.HistoryBuffer'):
        return ('(This looks like a checkpoint written by plain MMEngine, whose '
                'log buffers pickle functions via `getattr`; DLD writes them '
                'with AtomicCheckpointHook. If you trust the file, keep its '
                'weights only: '
                "torch.save({'state_dict': torch.load(f, weights_only=False)"
                "['state_dict']}, new_file).)\n")
    return ''


def allow_checkpoint_globals(globals_: Sequence[_SafeGlobal]) -> None:
    """Add types to the allow-list (process-wide)."""
    for g in globals_:
        if g not in CHECKPOINT_SAFE_GLOBALS:
            CHECKPOINT_SAFE_GLOBALS.append(g)
    torch.serialization.add_safe_globals(list(globals_))


#: How torch names the type it refused: ``GLOBAL posix.system``, or for a
#: type it met as an argument (a numpy object array's dtype) ``got <class
#: 'numpy.dtypes.ObjectDType'>``.
_GLOBAL_RES = (re.compile(r'GLOBAL ([\w.]+)'),
               re.compile(r"allowlisted via `add_safe_globals`, but got <class '([\w.]+)'>"))


def _global_from_error(message: str) -> Optional[str]:
    for pattern in _GLOBAL_RES:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return None


def _error_detail(message: str) -> str:
    """torch's one useful line: its message starts with generic advice, and
    the detail follows ``WeightsUnpickler error:`` on the same line or, in
    some torch versions, on a later one; torch 2.13 writes no such marker,
    the detail standing between the advice and a closing "Check the
    documentation" line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if 'WeightsUnpickler error' in line:
            rest = line.split('WeightsUnpickler error', 1)[1].lstrip(': ')
            if rest:
                return rest
            later = [x for x in lines[i + 1:] if not x.startswith('Check the documentation')]
            return later[0] if later else line
    detail = [x for x in lines if not x.startswith(('Check the documentation',
                                                    'Weights only load failed'))]
    return detail[-1] if detail else (lines[-1] if lines else (message or 'no message'))


def _is_read_failure(err: BaseException) -> bool:
    """Whether ``torch.load`` failed on the file's content, not on the
    request: a missing permission, a bad ``map_location`` or a full device is
    reported as is."""
    if isinstance(err, (PermissionError, IsADirectoryError, torch.cuda.OutOfMemoryError)):
        return False
    if isinstance(err, RuntimeError):
        return 'device' not in str(err).lower()
    return isinstance(err, (OSError, EOFError, KeyError, ValueError, IndexError,
                            UnicodeDecodeError, struct.error))


def submodule_state(state: dict, name: str) -> Optional[dict]:
    """The weights of submodule ``name`` of a state dict (``name.*``, prefix
    removed), or None when it has none: how a DLD checkpoint's teacher or
    student is read as a recognizer of its own."""
    prefix = f'{name}.'
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return sub or None


def checked_checkpoint_path(filename: str) -> str:
    """``filename`` with ``~`` expanded, refused where it is a URL, a folder
    or not there: every loader's first check, in one place (inference's
    read ``~/best.pth`` as not there, where training's found it)."""
    refuse_url(filename)
    filename = osp.expanduser(str(filename))
    if osp.isdir(filename):
        raise IsADirectoryError(f'Checkpoint {filename} is a folder: give a checkpoint file '
                                'in it (e.g. epoch_N.pth, best.pth)')
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint not found: {filename}')
    return filename


def load_checkpoint_file(filename: str, map_location: Any = None, mmap: bool = False) -> Any:
    """``torch.load`` a local file with ``weights_only=True``; ``mmap``: its
    tensors mapped, not read (a caller that reads its meta alone: the
    weights and the optimizer's state stay on disk), where the file is of
    the zip format that can be (a legacy one is read whole).

    Raises:
        FileNotFoundError: no such file.
        CheckpointGlobalError: the file needs a global outside
            :data:`CHECKPOINT_SAFE_GLOBALS`.
        CheckpointReadError: the file is not a readable checkpoint.
    """
    filename = checked_checkpoint_path(filename)
    register_checkpoint_io()
    try:
        if mmap and zipfile.is_zipfile(filename):
            try:
                return torch.load(filename, map_location=map_location, weights_only=True,
                                  mmap=True)
            except (OSError, RuntimeError):
                pass  # a file system that cannot map it: read whole, or say why not below
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        global_name = _global_from_error(str(err))
        if global_name is None:
            # e.g. "Unsupported operand 149": a plain pickle, or garbage.
            raise CheckpointReadError(filename, _error_detail(str(err))) from None
        raise CheckpointGlobalError(filename, global_name, _error_detail(str(err))) from None
    except Exception as err:  # noqa: BLE001 - torch's errors for unreadable files vary
        if not _is_read_failure(err):
            raise
        detail = _error_detail(str(err)) if str(err) else 'unexpected end of file'
        raise CheckpointReadError(filename, f'{type(err).__name__}: {detail}') from None


def load_from_local_weights_only(filename: str, map_location: Any = None) -> Any:
    """The loader MMEngine's :class:`CheckpointLoader` uses for local paths.

    (MMEngine logs ``name[10:]``, i.e. "local_weights_only", as the backend.)
    """
    return load_checkpoint_file(filename, map_location)


def refuse_checkpoint_url(url: str, *args, **kwargs) -> Any:
    """The loader of every URL scheme of MMEngine's :class:`CheckpointLoader`
    and its module-level ``load_url``: a :class:`CheckpointURLError`."""
    raise CheckpointURLError(str(url))


class AtomicLocalBackend(LocalBackend):
    """Local file backend whose writes are all-or-nothing.

    ``put``/``put_text`` write to a temporary file in the target's folder,
    flush it to disk, then ``os.replace`` it over the target, so a crash (or
    a full disk) mid-save leaves the previous file intact and never a
    truncated checkpoint or a ``last_checkpoint`` pointing at one.
    """

    def put(self, obj: bytes, filepath) -> None:
        self._atomic_write(obj, str(filepath), 'wb')

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self._atomic_write(obj.encode(encoding), str(filepath), 'wb')

    @staticmethod
    def _atomic_write(data: bytes, filepath: str, mode: str) -> None:
        folder = osp.dirname(osp.abspath(filepath))
        tmp = None
        try:
            # inside: a folder made read-only (chmod, a file system remounted
            # so after disk errors) was a bare PermissionError, a traceback
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                dir=folder, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
            with os.fdopen(fd, mode) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # mkstemp makes the file private (0600); give it the mode a
            # plain open() would have.
            os.chmod(tmp, 0o666 & ~_UMASK)
            os.replace(tmp, filepath)
        except BaseException as err:
            if tmp is not None and osp.exists(tmp):
                os.remove(tmp)
            if not isinstance(err, OSError):
                raise
            # the bare error names no file (a full disk, a quota, a file size
            # limit, an I/O error, a read-only folder); what was kept is whole
            size = f'{len(data) / 2**20:.1f} MiB'
            if err.errno == errno.ENOSPC:
                what = f'No space left to write {filepath} ({size}; {_free_space(folder)})'
            elif err.errno in (errno.EEXIST, errno.ENOTDIR) and _file_above(filepath):
                # makedirs' "File exists" named no cause
                what = f'Cannot write {filepath}: {_file_above(filepath)} is a file, not a folder'
            else:
                what = f'Cannot write {filepath} ({size}): {err.strerror or err}'
            raise CheckpointWriteError(
                err.errno, f'{what}; none of it is left, and the files written before it '
                'are whole') from err


def _file_above(path: str) -> Optional[str]:
    """The nearest path above ``path`` that is a file, not a folder, or None."""
    folder = osp.dirname(osp.abspath(path))
    while folder != osp.dirname(folder):
        if osp.lexists(folder):
            return folder if not osp.isdir(folder) else None
        folder = osp.dirname(folder)
    return None


def _free_space(folder: str) -> str:
    """``'12.3 MiB free in FOLDER'``, of ``folder`` or the nearest folder
    above it that is there (a folder the full disk could not make)."""
    while not osp.isdir(folder) and osp.dirname(folder) != folder:
        folder = osp.dirname(folder)
    try:
        return f'{shutil.disk_usage(folder).free / 2**20:.1f} MiB free in {folder}'
    except OSError:
        return 'free space unknown'


def resume_advice(work_dir: str, checkpoint: str) -> str:
    """``'--resume continues from PATH'``, or ``'--resume PATH continues
    from it ...'`` where a bare ``--resume`` takes another file: a run
    resumed from another work dir's checkpoint records that file as its
    last until it saves one of its own, and the stop line named it while a
    bare ``--resume`` started afresh (a resume journey)."""
    try:
        auto = latest_checkpoint(work_dir)
    except OSError:
        auto = None
    auto = (epoch_end_before(auto) or (auto, ''))[0]  # as a bare --resume steps back
    if auto and osp.isfile(checkpoint) and osp.samefile(auto, checkpoint):
        return f'--resume continues from {checkpoint}'
    taken = f'takes {auto}' if auto else 'finds no checkpoint there'
    return (f'--resume {checkpoint} continues from it (a bare --resume reads {work_dir}, and '
            f'{taken})')


def epoch_end_before(path: Optional[str]) -> Optional[Tuple[str, str]]:
    """Where ``path`` is an ``iter_N.pth`` of an epoch-based run that a
    resume refuses (saved within an epoch, or after an epoch's last
    iteration but before its end: the loop would start that epoch over, its
    batches trained twice): ``(the newest checkpoint beside it, up to N,
    that resumes at an epoch's end; why it is not path)``. None otherwise,
    or where there is no such checkpoint (the resume then says what to do).
    Checkpoints record the run's iterations per epoch; one without the
    record, or unreadable, is left to the resume's checks."""
    m = re.fullmatch(r'iter_(\d+)\.pth', osp.basename(path or ''))
    if not m:
        return None
    from .hooks.resumed_schedule_check_hook import ITERS_PER_EPOCH_KEY
    try:
        # mapped: its meta and message hub are read, its tensors never
        ckpt = load_checkpoint_file(path, map_location='cpu', mmap=True)
        per_epoch = int(ckpt['message_hub']['runtime_info'][ITERS_PER_EPOCH_KEY])
    except Exception:  # noqa: BLE001 - not ours to judge here: the resume checks it
        return None
    saved = int(m.group(1))
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or not all(isinstance(meta.get(k), int)
                                             for k in ('epoch', 'iter')):
        return None  # where it stands is not recorded: the resume's checks judge it
    if per_epoch < 1 or _at_epoch_end(ckpt, per_epoch):
        return None
    folder = osp.dirname(path)
    # epoch_K.pth ends epoch K; an iter_M.pth only where its record says so
    # (saved by iteration, it is saved before its epoch's end, the run's last too:
    # MMEngine records the epoch it was saved in, not the next)
    ends = [(n * per_epoch, name) for n, name in numbered_checkpoints(folder, 'epoch')
            if n * per_epoch <= saved]
    ends += [(n, name) for n, name in numbered_checkpoints(folder, 'iter')
             if n % per_epoch == 0 and n < saved]
    for at, name in sorted(ends, reverse=True):
        if name.startswith('iter_'):
            try:
                if not _at_epoch_end(load_checkpoint_file(
                        osp.join(folder, name), map_location='cpu', mmap=True), per_epoch):
                    continue
            except Exception:  # noqa: BLE001 - an unreadable one resumes nothing
                continue
        return osp.join(folder, name), (
            f'{osp.basename(path)} was saved within epoch {(saved - 1) // per_epoch + 1} (after '
            f'iteration {(saved - 1) % per_epoch + 1} of its {per_epoch}, before the epoch\'s '
            'end), where an epoch-based run cannot resume (the epoch would start over, its '
            f'batches trained twice); {name} is the newest that resumes (the {saved - at} '
            'iteration(s) after it train again)')
    return None


def _at_epoch_end(checkpoint: dict, per_epoch: int) -> bool:
    """Whether ``checkpoint`` resumes an epoch-based run at an epoch's end:
    the loop goes on at the epoch its ``meta`` records, from that epoch's
    first batch."""
    meta = checkpoint.get('meta') or {}
    return meta.get('iter') == meta.get('epoch', -1) * per_epoch


def numbered_checkpoints(folder: str, kind: str = 'epoch') -> List[Tuple[int, str]]:
    """``(N, name)`` of each ``<kind>_N.pth`` in ``folder`` (``kind``:
    ``'epoch'`` or ``'iter'``), unordered; none where it cannot be listed."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [(int(m.group(1)), name) for name in names
            if (m := re.fullmatch(rf'{kind}_(\d+)\.pth', name))]


def read_checkpoint_pointer(pointer: str) -> str:
    """The path a ``last_checkpoint`` file names. MMEngine writes it in the
    locale's encoding (a plain ``open('w')``): on Windows a work dir under
    ``C:\\Users\\José`` was a UnicodeDecodeError read as UTF-8. UTF-8 first
    (our own files, and Linux's and macOS's locales), then the locale's."""
    with open(pointer, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        text = raw.decode(locale.getpreferredencoding(False), errors='replace')
    return text.strip()


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from; None when there is none.

    It is the namesake in ``work_dir`` of the file ``<work_dir>/last_checkpoint``
    names (for a work dir moved or copied since: the pointer still names the
    original's), else that file, or, when that pointer is empty
    or names no file, the newest ``epoch_N.pth`` (else ``iter_N.pth``) of
    the work dir, with a warning. Why: MMEngine rewrites
    the pointer with a plain ``open('w')`` after each (atomic) save, so a
    kill at that moment leaves it empty, and resuming would fail on a
    checkpoint named ``''`` although every checkpoint is whole.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = ''
    if osp.isfile(pointer):
        named = read_checkpoint_pointer(pointer)
        local = osp.join(work_dir, osp.basename(named)) if named else ''
        if named and osp.isfile(named) and not (
                osp.isfile(local) and not osp.samefile(local, named)):
            return named
        if local and osp.isfile(local):
            # its namesake here, also where the named file is still there: a
            # work dir copied (or moved) keeps the original's pointer, and
            # resuming the copy read the original's checkpoint
            return local
    found = []
    for kind in ('epoch', 'iter'):
        found = numbered_checkpoints(work_dir, kind)
        if found:
            break
    newest = osp.join(work_dir, max(found)[1]) if found else None
    if osp.isfile(pointer):
        why = f'names {named}, which does not exist' if named else 'is empty'
        then = f'resuming from the newest checkpoint, {newest}' if newest else 'none to resume'
        print_log(f'{pointer} {why}; {then}.', logger='current', level=logging.WARNING)
    return newest


def register_checkpoint_io() -> None:
    """Install the allow-list, the weights-only loader and the atomic backend.

    Idempotent; called when :mod:`dld.engine` is imported.
    """
    global _registered
    if _registered:
        return
    torch.serialization.add_safe_globals(list(CHECKPOINT_SAFE_GLOBALS))
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_weights_only, force=True)
    # Every other scheme is a download (or s3/pavi, read with
    # weights_only=False): refused; a scheme unknown to MMEngine falls to
    # the local loader, which refuses it too.
    urls = [p for p in CheckpointLoader._schemes if p]
    CheckpointLoader.register_scheme(prefixes=urls, loader=refuse_checkpoint_url, force=True)
    # Every MMEngine URL loader ends in this module global (``load_from_http``;
    # ``torchvision://`` and kin call it directly): refused there too.
    mmengine_checkpoint.load_url = refuse_checkpoint_url
    _say_loads_through_the_logger()
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
    _registered = True


def _say_loads_through_the_logger() -> None:
    """MMEngine's 'Loads checkpoint by ... backend from path' goes through
    the current logger where its caller gave none (the runner's load and
    resume): it was a bare print() on stdout, once per process of a
    distributed run (twice under dist_test.sh, four times on a resume)."""
    load = CheckpointLoader.load_checkpoint.__func__

    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        return load(cls, filename, map_location, 'current' if logger is None else logger)

    CheckpointLoader.load_checkpoint = classmethod(load_checkpoint)
