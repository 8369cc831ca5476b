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
