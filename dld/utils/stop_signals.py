"""Ctrl-C and SIGTERM as one stop, for tools that keep what they have done.

SIGTERM (a job's time limit, ``kill``, ``docker stop``) killed a tool as it
stood; raised as KeyboardInterrupt it unwinds as Ctrl-C does, so a tool
writes what it read and says so in one line, with the shell's status.
"""
import contextlib
import signal


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM raises ``KeyboardInterrupt('SIGTERM')`` inside the block."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def signal_name(stop: KeyboardInterrupt) -> str:
    return 'SIGTERM' if str(stop) == 'SIGTERM' else 'Ctrl-C'


def stop_status(stop: KeyboardInterrupt) -> int:
    """The shell's status for the signal: 130 (Ctrl-C), 143 (SIGTERM)."""
    return 128 + (signal.SIGTERM if str(stop) == 'SIGTERM' else signal.SIGINT)
