"""One training run at a time in a work dir."""
import datetime
import errno
import logging
import os
import os.path as osp
import stat
from typing import IO, Dict, Optional

#: The lock file a training run holds in its checkpoints' folder.
LOCK_NAME = '.dld_train.lock'

#: The locks this process holds, by lock file: a run started again in this
#: process (a notebook, the tests) keeps its earlier run's, which has ended
#: or failed: a process trains one run at a time.
_HELD: Dict[str, IO] = {}


class WorkDirInUseError(RuntimeError):
    """Another training run holds the folder its checkpoints go to."""


def lock_work_dir(folder: str) -> Optional[IO]:
    """Hold ``folder`` for this process's training run until it exits (or
    :func:`release_work_dir`), or raise :class:`WorkDirInUseError` naming
    the run that holds it.

    Why: a second run started in the folder of a running one (a ``--resume``
    typed while it still ran) removed the first one's checkpoint being
    written (a save's temporary file, which a new run takes for a kill's
    leftover): the first run failed and lost its epoch, the second trained
    on in its folder. ``tools/train.py`` takes it before the runner is
    built (which writes the config into the folder); the checkpoint hook
    takes it too, for a run started from Python. An advisory ``flock``,
    released by the kernel however the process ends (a ``kill -9`` leaves
    no stale lock); the lock file is opened without following a link (one
    planted under its name had its target overwritten). Returns the open
    lock file; None where locks are not available (not POSIX, or a file
    system that refuses them: NFS without a lock daemon).
    """
    try:
        import fcntl
    except ImportError:  # not POSIX (Windows)
        _say_unlocked_once()
        return None
    os.makedirs(folder, exist_ok=True)
    path = osp.join(osp.realpath(folder), LOCK_NAME)
    if path in _HELD:  # this process's: an earlier run of it, or train.py's
        return _HELD[path]
    nofollow = getattr(os, 'O_NOFOLLOW', 0)
    writable = True
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | nofollow, 0o666)
    except PermissionError:  # another user's lock file (0644): a read is enough to lock
        writable = False
        try:
            fd = os.open(path, os.O_RDONLY | nofollow)
        except OSError:
            return None  # a folder it cannot read: said where the run writes
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.EISDIR):
            kind = 'a link' if err.errno == errno.ELOOP else 'a folder'
            raise WorkDirInUseError(f'{path} is {kind}, where a training run keeps its lock: '
                                    'remove it') from None
        return None  # a folder it cannot write: said where the run writes
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise WorkDirInUseError(f'{path} is not a file, where a training run keeps its lock: '
                                'remove it')
    f = os.fdopen(fd, 'r+' if writable else 'r', encoding='utf-8')
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = f.read().strip() or 'another process'
        f.close()
        raise WorkDirInUseError(
            f'{folder} is the work dir of a training run still running ({holder}): its '
            'checkpoints would be overwritten and the one it is writing removed. Wait for '
            'it to end (--resume goes on from its last checkpoint then), or give another '
            '--work-dir. (A Python session whose run of plain MMEngine Runner stopped holds '
            'it until it ends or calls dld.engine.work_dir_lock.release_work_dir.)') from None
    except OSError:  # locks not supported here: train unlocked, as before
        f.close()
        return None
    if writable:  # who holds it, for the refusal of another run
        f.truncate()
        started = datetime.datetime.now().isoformat(timespec='seconds')
        f.write(f'pid {os.getpid()} on {os.uname().nodename}, started {started}\n')
        f.flush()
    _HELD[path] = f
    return f


_unlocked_said = False


def _say_unlocked_once() -> None:
    """Where there are no ``flock`` locks, say once that nothing stops a
    second run in a work dir (it went without a word)."""
    global _unlocked_said
    if _unlocked_said:
        return
    _unlocked_said = True
    from mmengine.logging import print_log
    print_log('Work dirs are not locked on this system (no fcntl): a second training run '
              "started in a running one's work dir would replace its checkpoints; give each "
              'run its own --work-dir.', logger='current', level=logging.WARNING)


def _let_go_in_child() -> None:
    """In a forked child (a data-loader worker), close the copies of the
    locks' files: the lock is held while any copy is open, so workers left
    running after a ``kill -9`` of the run held it 4 to 5 s, and ``--resume``
    was refused naming the dead run as running. The parent's stay open."""
    for f in _HELD.values():
        try:
            f.close()  # nothing left to flush: written and flushed when taken
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_let_go_in_child)


def release_work_dir(folder: str) -> None:
    """Let go of ``folder``'s lock if this process holds it (a run ended)."""
    held = _HELD.pop(osp.join(osp.realpath(folder), LOCK_NAME), None)
    if held is not None:
        held.close()


def release_held_work_dirs() -> None:
    """Let go of every work dir this process holds (its run has ended, one
    way or another: a tool's main called in a notebook)."""
    for path in list(_HELD):
        release_work_dir(osp.dirname(path))
