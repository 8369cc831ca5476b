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
