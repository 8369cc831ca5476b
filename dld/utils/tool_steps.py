"""Tools run one after another by a longer script (the quickstart, the full
schedule), each a child process that says where it stopped or why it failed.

The script adds one line after the tool's own and exits with the tool's
status: a failing step was the script's ``CalledProcessError`` traceback;
Ctrl-C had ``subprocess.run`` kill the tool 0.25 s into its clean-up; a
SIGTERM or SIGINT to the script alone (a job scheduler's, ``kill PID``, an
IDE's stop button) left the tool running.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Iterator, Optional, Sequence

from .stop_signals import said, signals_as_one_stop, stop_signal, stop_status


def run_step(step: str, args: Sequence[str], *, cwd: str, script: str,
             env: Optional[dict] = None, again: str = '') -> float:
    """Run ``python ARGS`` in ``cwd`` as ``step`` of ``script`` and return
    the seconds it took; a step that fails or is stopped ends the script
    with one line (``again``, where given, says how to go on) and the
    tool's exit status, or the signal's.

    The tool runs in a process group of its own, and the script passes the
    first Ctrl-C or SIGTERM on to it once, whoever sent it: to the
    terminal's group, it reached the tool twice, to the script alone, not
    at all. A later one ends both at once (a clean-up that hangs). A
    terminal's hang-up (SIGHUP, which reaches the script's group only) is
    passed on too, where the script does not ignore it (``nohup``)."""
    print(f'\n=== {step}\n$ python {" ".join(args)}', flush=True)
    start = time.time()
    with signals_as_one_stop() as stop:
        stop.defer = True  # the tool says where it stopped; the script waits for it
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, **_OWN_GROUP)
        stop.at_once = proc.kill
        forwarded = False
        with _hangup_passed_on(proc):
            while True:
                try:
                    code = proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    if stop and not forwarded:
                        _pass_on(proc, stop.names[0])
                        forwarded = True
    hint = f'; {again}' if again else ''
    if code and stop:
        _end(f'{script}: stopped by {said(stop.names[0])} during step {step}{hint}',
             stop_status(stop.names[0]))
    if code:
        _end(f'{script}: step {step} {how_it_ended(code)}{hint}', exit_status(code))
    took = time.time() - start
    print(f'=== {step}: done in {took / 60:.1f} min', flush=True)
    if stop:  # the tool finished as the signal came: the script stops after it
        _end(f'{script}: stopped by {said(stop.names[0])} after step {step}{hint}',
             stop_status(stop.names[0]))
    return took


#: Popen's arguments that start the tool in a process group of its own:
#: ``process_group`` is Python 3.11's (a TypeError on 3.10, which DLD
#: supports); Windows has none of POSIX's kind (ignored there).
_OWN_GROUP: dict = (dict(process_group=0) if sys.version_info >= (3, 11) else
                    dict(preexec_fn=os.setpgrp) if os.name == 'posix' else {})

#: Windows has no process groups of POSIX's kind: its console gives every
#: process attached to it the Ctrl-C, and ``send_signal`` takes SIGTERM only.
ON_WINDOWS = sys.platform == 'win32'


def _pass_on(proc: subprocess.Popen, name: str) -> None:
    """Send the tool the script's signal ``name``; on Windows a Ctrl-C is
    the console's, which the tool got too (sent, it was a ValueError
    traceback: "Unsupported signal: 2")."""
    if ON_WINDOWS and name != 'SIGTERM':
        return
    proc.send_signal(signal.Signals[name])


@contextlib.contextmanager
def _hangup_passed_on(proc: subprocess.Popen) -> Iterator[None]:
    """SIGHUP to the script: to the tool too, which it ends as before the
    tool had a process group of its own (it went on writing to a closed
    terminal)."""
    hangup = getattr(signal, 'SIGHUP', None)
    try:
        before = signal.getsignal(hangup) if hangup else signal.SIG_IGN
    except ValueError:  # not the main thread
        before = signal.SIG_IGN
    if before != signal.SIG_DFL:  # ignored (nohup), or a handler of the caller's
        yield
        return
    signal.signal(hangup, lambda signum, frame: proc.send_signal(hangup))
    try:
        yield
    finally:
        signal.signal(hangup, before)


def exit_status(code: int) -> int:
    """A shell's exit status for a child's return code: the code, or 128 +
    the signal that killed it."""
    return code if code >= 0 else 128 - code


def how_it_ended(code: int) -> str:
    """How the tool ended: its status, or the signal that killed it (the
    kernel's out-of-memory killer sends SIGKILL)."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f'signal {-code}'
        return f'was killed by {name}'
    if code > 128 and code - 128 in (signal.SIGINT, signal.SIGTERM):
        return f'was stopped by {said(signal.Signals(code - 128).name)} (exit status {code})'
    return f'failed (exit status {code}; its message is above)'


def _end(line: str, status: int) -> None:
    print(line, file=sys.stderr, flush=True)
    sys.exit(status)


@contextlib.contextmanager
def exit_on_stop(script: str, again: str = '') -> Iterator[None]:
    """Ctrl-C or SIGTERM while the script itself works (between its steps,
    waiting for a lock another run holds, timing a model): one line and the
    signal's exit status, not a traceback."""
    try:
        with signals_as_one_stop():
            yield
    except KeyboardInterrupt as err:
        name = stop_signal(err)
        _end(f'{script}: stopped by {said(name)}' + (f'; {again}' if again else ''),
             stop_status(name))
