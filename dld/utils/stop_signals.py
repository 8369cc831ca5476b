"""Ctrl-C and SIGTERM as one stop, for tools that say where they stopped.

SIGTERM (a job's time limit, ``kill``, ``docker stop``, a scheduler's
preemption) killed a tool as it stood; raised as KeyboardInterrupt it
unwinds as Ctrl-C does, so a tool cleans up, keeps what it can and says so
in one line, with the shell's exit status for the signal. A repeat within
a second (a double press, which broke the clean-up) is ignored; a later one
ends the process at once (a clean-up that hangs).

A SIGTERM to the whole process group (torchrun passing it on, ``kill --
-PGID``, Slurm's ``scancel``) reaches the data loader's workers too, and
PyTorch may report their death (a RuntimeError) before this process's own
signal: :func:`stop_signal` takes that for the same stop.
"""
import contextlib
import errno
import os
import re
import signal
import sys
import time
from typing import Callable, Iterator, List, Optional

#: PyTorch's errors for a data loader worker that died: "is killed by signal:
#: Terminated" where it names the signal, "exited unexpectedly" where the main
#: process was waiting for a batch (the worker's exit code then tells).
WORKER_TERMINATED = re.compile(r'DataLoader worker \(pid \d+\) is killed by signal: Terminated')
WORKER_EXITED = re.compile(r'DataLoader worker \(pid\(s\) ([\d, ]+)\) exited unexpectedly')


#: A second signal this soon after the first is a double press, ignored;
#: a later one ends the process at once (a clean-up that hangs).
REPEAT_SECONDS = 1.0


class Stop:
    """The signals of a :func:`signals_as_one_stop` block: ``names`` holds
    the first one's (a caller appends one it found otherwise, so that a
    signal arriving then counts as a repeat); with ``defer`` set, the first
    signal is recorded and not raised (a tool finishing its output);
    ``at_once``, where set, is called before a later signal ends the process
    at once (a child process to end with it)."""

    def __init__(self) -> None:
        self.names: List[str] = []
        self.owner = os.getpid()
        self.defer = False
        self.first_at = 0.0
        self.at_once: Optional[Callable[[], None]] = None
        #: the first signal was raised as KeyboardInterrupt
        self.raised = False

    def append(self, name: str) -> None:
        if not self.names:
            self.names.append(name)
            self.first_at = time.monotonic()
            if name == 'SIGHUP' and os.getpid() == self.owner:
                # found otherwise too: a write to the closed terminal (EIO)
                _off_the_closed_terminal()

    def __bool__(self) -> bool:
        return bool(self.names)


@contextlib.contextmanager
def signals_as_one_stop(hangup: bool = False) -> Iterator[Stop]:
    """Within the block the first SIGINT or SIGTERM (and SIGHUP, with
    ``hangup``: a closed terminal, which killed a run without a word of
    where to resume) raises
    ``KeyboardInterrupt(<its name>)`` (or, with ``defer``, is recorded); a
    repeat within :data:`REPEAT_SECONDS` is ignored, a later one ends the
    process at once with the first one's status. A signal ignored when the
    block starts (a background job's SIGINT) stays ignored; the handlers
    before are put back after it.

    On the first signal SIGCHLD's handler becomes one that does nothing:
    PyTorch's would raise, while the stop unwinds, for the loader workers
    killed by the same SIGTERM (a traceback after the stop's one line, exit 1)."""
    stop = Stop()
    owner = os.getpid()  # a forked loader worker inherits the handler: it ends quietly

    def began(name):  # the stop's first signal, or its terminal's EIO (below)
        stop.append(name)  # a SIGHUP's: stdout and stderr off the closed terminal
        if hasattr(signal, 'SIGCHLD'):  # a Python handler: SIG_DFL made a SIGCHLD already
            # received raise "Signal 17 ignored due to race condition"
            signal.signal(signal.SIGCHLD, _child_exited)

    def interrupt(signum, frame):
        name = signal.Signals(signum).name
        if stop.names:
            if time.monotonic() - stop.first_at < REPEAT_SECONDS or name == 'SIGHUP':
                return  # a double press; a hang-up again (the terminal is gone) asks nothing
            if os.getpid() == owner:  # a Ctrl-C again to the group: said once, not per worker
                print(f'stopping at once ({said(name)} again)', file=sys.stderr, flush=True)
            if stop.at_once is not None and os.getpid() == owner:
                stop.at_once()
            os._exit(stop_status(stop.names[0]))
        began(name)
        if not stop.defer:
            stop.raised = True
            raise KeyboardInterrupt(name)

    _ACTIVE.append(stop)
    previous = {}
    signals = [signal.SIGINT, signal.SIGTERM]
    if hangup and hasattr(signal, 'SIGHUP'):
        signals.append(signal.SIGHUP)  # nohup's SIG_IGN is kept (below)
    for sig in signals:
        try:
            if signal.getsignal(sig) != signal.SIG_IGN:
                previous[sig] = signal.signal(sig, interrupt)
        except ValueError:  # not the main thread: leave signals alone
            break
    try:
        try:
            yield stop
        except OSError as err:
            # a write to the closed terminal failed (EIO) before its SIGHUP came: the
            # kernel's goes to the terminal's session leader (a shell passes it on
            # later), a tool of another session gets none. It is the hang-up's stop:
            # the error ended the block, which put SIG_DFL back, and the SIGHUP then
            # killed the tool without its line (status -1), or the tool ended with a
            # traceback that was lost too (status 1)
            if getattr(signal, 'SIGHUP', None) not in previous or not closed_terminal(err):
                raise
            _off_the_closed_terminal()  # where a signal's stop came first too (defer)
            began('SIGHUP')  # a SIGHUP now is a hang-up again, ignored
            stop.raised = True
            raise KeyboardInterrupt(stop.names[0]) from err
    finally:
        _ACTIVE.remove(stop)
        for sig, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back
            handler = signal.SIG_DFL if handler is None else handler
            if stop.names and stop.names[0] == 'SIGHUP' and sig == getattr(signal, 'SIGHUP', None):
                # the terminal is gone: a hang-up again (the kernel's, after one sent
                # to the process) would kill the clean-up that follows the block
                handler = signal.SIG_IGN
            signal.signal(sig, handler)
        # after a stop the process is ending: SIGCHLD keeps the handler that
        # does nothing (the workers are stopped after the block; PyTorch's
        # own check of a worker that died is its queue timeout, which raises)


def closed_terminal(err: BaseException) -> bool:
    """Whether ``err`` is a write's EIO to the closed terminal that stdout or
    stderr is (a hung-up terminal refuses its settings with EIO too; a
    file's or a disk's EIO is an error of its own)."""
    if not isinstance(err, OSError) or err.errno != errno.EIO:
        return False
    try:
        import termios
    except ImportError:  # no terminals of this kind here
        return False
    import stat
    for fd in (1, 2):
        try:
            if stat.S_ISCHR(os.fstat(fd).st_mode):
                termios.tcgetattr(fd)
        except termios.error as error:
            if error.args and error.args[0] == errno.EIO:
                return True
        except OSError:
            pass
    return False


def _off_the_closed_terminal() -> None:
    """Point stdout and stderr that are a terminal (a character device) at
    the null device: after a hang-up every write to it fails (EIO), and the
    clean-up's output would end the process with a traceback, its status
    lost. A file or pipe they go to is kept."""
    import stat
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            try:
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
            except OSError:
                pass
    finally:
        os.close(devnull)


#: The stops of the :func:`signals_as_one_stop` blocks the process is in.
_ACTIVE: List[Stop] = []


def raise_swallowed_stop() -> None:
    """Raise the stop again where its KeyboardInterrupt was swallowed: one
    raised while a callback of ``os.fork`` ran (logging's, as the
    validation loader starts its workers) is printed as "Exception ignored"
    and lost, and the run trained or validated on, then failed on its
    killed workers with a traceback. Called between steps, where the
    first raise would have ended the block already."""
    for stop in _ACTIVE:
        if stop.raised:
            raise KeyboardInterrupt(stop.names[0])


def _child_exited(signum, frame) -> None:
    """SIGCHLD once a stop began: the workers that exit are joined as the
    tool ends, and PyTorch's check would raise for those the signal killed."""


def stop_signal(err: BaseException, exit_codes: Optional[dict] = None) -> Optional[str]:
    """The signal that stopped the tool (``'SIGTERM'``, ``'SIGINT'``), None
    where ``err`` is no stop; ``exit_codes``: the loader workers' by pid."""
    if isinstance(err, KeyboardInterrupt):
        return str(err) if str(err) in signal.Signals.__members__ else 'SIGINT'
    if closed_terminal(err):  # a write to it failed before its SIGHUP came
        return 'SIGHUP'
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
    """``'Ctrl-C'`` for SIGINT, SIGHUP with what it means, else the signal's
    name."""
    return {'SIGINT': 'Ctrl-C', 'SIGHUP': 'SIGHUP (its terminal closed)'}.get(name, name)


def stop_status(name: str) -> int:
    """The shell's exit status for the signal: 130 (SIGINT), 143 (SIGTERM)."""
    return 128 + signal.Signals[name].value
