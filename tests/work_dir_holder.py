"""A work dir held by another process's training run, for the lock's tests."""
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def held_by_another_process(folder) -> Iterator[int]:
    """``folder`` locked (``lock_work_dir``) by a child process for the
    block's length; yields its pid. The child is killed after it: a killed
    holder leaves no stale lock."""
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time; from dld.engine.work_dir_lock import '
         'lock_work_dir; lock_work_dir(sys.argv[1]); print("held", flush=True); '
         'time.sleep(60)', str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
