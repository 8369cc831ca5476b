"""Ctrl-C and SIGTERM as one stop, for tools that say where they stopped.

SIGTERM (a job's time limit, ``kill``, ``docker stop``, a scheduler's
preemption) killed a tool as it stood; raised as KeyboardInterrupt it
unwinds as Ctrl-C does, so a tool cleans up, keeps what it can and says so
in one line, with the shell's exit status for the signal. A second signal
while it does so is ignored: pressing Ctrl-C twice broke the clean-up.

A SIGTERM to the whole process group (torchrun passing it on, ``kill --
-PGID``, Slurm's ``scancel``) reaches the data loader's workers too, and
PyTorch may report their death (a RuntimeError) before this process's own
signal: :func:`stop_signal` takes that for the same stop.
"""
import contextlib
import re
import signal
from typing import Iterator, List, Optional

#: PyTorch's errors for a data loader worker that died: "is killed by signal:
#: Terminated" where it names the signal, "exited unexpectedly" where the main
#: process was waiting for a batch (the worker's exit code then tells).
WORKER_TERMINATED = re.compile(r'DataLoader worker \(pid \d+\) is killed by signal: Terminated')
WORKER_EXITED = re.compile(r'DataLoader worker \(pid\(s\) ([\d, ]+)\) exited unexpectedly')


@contextlib.contextmanager
def signals_as_one_stop() -> Iterator[List[str]]:
    """Within the block the first SIGINT or SIGTERM raises
    ``KeyboardInterrupt(<its name>)`` and later ones are ignored; yields the
    list that holds the first one's name (a caller appends one it found
    otherwise, :func:`stop_signal`, so that a signal arriving then is
    ignored too). The handlers before are put back after it."""
    stopping: List[str] = []

    def interrupt(signum, frame):
        if not stopping:
            stopping.append(signal.Signals(signum).name)
            raise KeyboardInterrupt(stopping[0])

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, interrupt)
        except ValueError:  # not the main thread: leave signals alone
            break
    try:
        yield stopping
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: a handler installed outside Python
                signal.signal(sig, handler)


def stop_signal(err: BaseException, exit_codes: Optional[dict] = None) -> Optional[str]:
    """The signal that stopped the tool (``'SIGTERM'``, ``'SIGINT'``), None
    where ``err`` is no stop; ``exit_codes``: the loader workers' by pid."""
    if isinstance(err, KeyboardInterrupt):
        return str(err) if str(err) in signal.Signals.__members__ else 'SIGINT'
    seen = set()
    while err is not None and id(err) not in seen:  # the error and what it was raised from
        text = str(err)
        exited = WORKER_EXITED.search(text)
        if WORKER_TERMINATED.search(text) or exited and any(
                (exit_codes or {}).get(int(pid)) == -signal.SIGTERM
                for pid in exited.group(1).split(',')):
            return 'SIGTERM'
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def said(name: str) -> str:
    """``'Ctrl-C'`` for SIGINT, else the signal's name."""
    return 'Ctrl-C' if name == 'SIGINT' else name


def stop_status(name: str) -> int:
    """The shell's exit status for the signal: 130 (SIGINT), 143 (SIGTERM)."""
    return 128 + signal.Signals[name].value
