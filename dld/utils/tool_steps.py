"""Tools run one after another by a longer script (the quickstart, the full
schedule), each a child process that says where it stopped or why it failed.

The script adds one line after the tool's own and exits with the tool's
status: a failing step was the script's ``CalledProcessError`` traceback;
Ctrl-C, which the terminal sends the tool too, had ``subprocess.run`` kill
the tool 0.25 s into its clean-up; a SIGTERM to the script alone (a job
scheduler's, ``kill PID``) left the tool running.
"""
import contextlib
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
    tool's exit status, or the signal's."""
    print(f'\n=== {step}\n$ python {" ".join(args)}', flush=True)
    start = time.time()
    with signals_as_one_stop() as stop:
        stop.defer = True  # the tool gets the terminal's Ctrl-C itself and says where it stopped
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env)
        forwarded = False
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop and stop.names[0] == 'SIGTERM' and not forwarded:
                    # a SIGTERM to the script alone (to the whole group, the
                    # tool takes this copy for a repeat and ignores it); Ctrl-C
                    # reaches the tool from the terminal, and a second SIGINT
                    # would cut its clean-up short
                    proc.send_signal(signal.SIGTERM)
                    forwarded = True
    hint = f'; {again}' if again else ''
    if stop:
        _end(f'{script}: stopped by {said(stop.names[0])} during step {step}{hint}',
             stop_status(stop.names[0]))
    if code:
        _end(f'{script}: step {step} {how_it_ended(code)}{hint}',
             code if code > 0 else 128 - code)
    took = time.time() - start
    print(f'=== {step}: done in {took / 60:.1f} min', flush=True)
    return took


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
