"""One training run at a time in a work dir; the lock file itself safe to open."""
import os

import pytest

from dld.engine.work_dir_lock import (
    LOCK_NAME,
    WorkDirInUseError,
    lock_work_dir,
    release_work_dir,
)


def test_a_link_planted_as_the_lock_file_is_refused_and_its_target_left(tmp_path):
    """The lock file was opened through a link and truncated: a link planted
    under its name had its target overwritten (a review)."""
    victim = tmp_path / 'victim.txt'
    victim.write_text('keep me')
    work = tmp_path / 'work'
    work.mkdir()
    os.symlink(victim, work / LOCK_NAME)
    with pytest.raises(WorkDirInUseError, match='is a link, where a training run keeps its lock'):
        lock_work_dir(str(work))
    assert victim.read_text() == 'keep me'


def test_this_process_keeps_its_lock_and_lets_go_of_it(tmp_path):
    first = lock_work_dir(str(tmp_path))
    assert lock_work_dir(str(tmp_path)) is first  # train.py's, then the hook's: one lock
    assert (tmp_path / LOCK_NAME).read_text().startswith(f'pid {os.getpid()} on ')
    release_work_dir(str(tmp_path))
    assert first.closed
    again = lock_work_dir(str(tmp_path))
    assert again is not first and not again.closed
    release_work_dir(str(tmp_path))


def test_a_folder_as_the_lock_file_is_refused(tmp_path):
    (tmp_path / LOCK_NAME).mkdir()
    with pytest.raises(WorkDirInUseError, match='is a folder, where a training run keeps'):
        lock_work_dir(str(tmp_path))


def test_another_user_s_lock_file_is_locked_read_only_not_skipped(tmp_path, monkeypatch):
    """A lock file another user's run left (0644) could not be opened for
    writing, and the run trained unlocked beside that user's (a review)."""
    (tmp_path / LOCK_NAME).write_text('pid 1 on other, started then\n')
    real_open = os.open

    def not_ours(path, flags, *args):
        if flags & os.O_RDWR:
            raise PermissionError(13, 'Permission denied', path)
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, 'open', not_ours)
    held = lock_work_dir(str(tmp_path))
    assert held is not None and held.mode == 'r'  # locked (flock needs no write access)
    assert (tmp_path / LOCK_NAME).read_text() == 'pid 1 on other, started then\n'
    release_work_dir(str(tmp_path))


def test_a_run_s_forked_workers_do_not_keep_its_lock_after_it_dies(tmp_path):
    """Data-loader workers left after a kill -9 of the run held the lock 4
    to 5 s, and --resume was refused naming the dead run as running (a
    resume journey)."""
    import signal
    import subprocess
    import sys
    import time
    script = ('import os, sys, time\n'
              'from dld.engine.work_dir_lock import lock_work_dir\n'
              'lock_work_dir(sys.argv[1])\n'
              'child = os.fork()\n'
              'if child == 0:\n'
              '    null = os.open(os.devnull, os.O_WRONLY)\n'
              '    os.dup2(null, 1)\n'  # the test reads the run's output to its end
              '    os.dup2(null, 2)\n'
              '    time.sleep(60)\n'
              '    os._exit(0)\n'
              'print(child, flush=True)\n'
              'os._exit(0)\n')  # the run dies at once, as by kill -9: no clean-up
    run = subprocess.run([sys.executable, '-c', script, str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    worker = int(run.stdout.strip())
    try:
        time.sleep(0.2)
        os.kill(worker, 0)  # the worker lives on
        lock_work_dir(str(tmp_path))  # and the folder is free
        release_work_dir(str(tmp_path))
    finally:
        os.kill(worker, signal.SIGKILL)


def test_where_there_are_no_locks_it_is_said_once(tmp_path, monkeypatch, caplog):
    """Windows has no fcntl: nothing stopped a second run in a work dir, and
    nothing said so."""
    import sys

    from mmengine.logging import MMLogger

    from dld.engine import work_dir_lock
    monkeypatch.setitem(sys.modules, 'fcntl', None)  # import fcntl: ImportError
    monkeypatch.setattr(work_dir_lock, '_unlocked_said', False)
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        assert lock_work_dir(str(tmp_path / 'a')) is None
        assert lock_work_dir(str(tmp_path / 'b')) is None
    finally:
        logger.removeHandler(caplog.handler)
    said = [r.getMessage() for r in caplog.records if 'not locked' in r.getMessage()]
    assert len(said) == 1 and 'give each run its own --work-dir' in said[0]
