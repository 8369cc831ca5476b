"""Ctrl-C while a tool starts: one line, not a traceback through whichever
module was loading.

Loading torch and MMEngine takes seconds (more on a busy machine), reading
the config and building the run some more, and a Ctrl-C then printed 10 to
65 lines of import internals, once per process under the launcher. A tool
imports this module first, before those, and light itself (the standard
library's modules only) it is in place at once:

    import dld.startup_interrupt  # noqa: F401  # isort: skip  (first)

The interrupt still unwinds as before (``finally`` blocks and clean-up run,
the status is the shell's 130): only its report at the top is one line. A
stop the tool handles itself (during training, testing, reading) says more.
"""
import os.path as osp
import sys

# imported here: a module first imported while the hook runs made the
# process end with status 1, not by the signal (CPython's flag for an
# uncaught interrupt is reset)
from dld.dist_launch import keep_for_launcher  # light: the standard library


def stop_line(interrupt: KeyboardInterrupt) -> str:
    """``train.py: stopped by Ctrl-C as it started.``; the signal's name for
    a SIGTERM or SIGHUP that the tool's stop handling raised as one."""
    name = interrupt.args[0] if interrupt.args and str(interrupt.args[0]).startswith('SIG') \
        else 'Ctrl-C'
    return f'{osp.basename(sys.argv[0]) or "python"}: stopped by {name} as it started.'


def _report(kind, value, traceback) -> None:
    if not issubclass(kind, KeyboardInterrupt):
        _previous_hook(kind, value, traceback)
        return
    line = stop_line(value)
    if not keep_for_launcher(line):  # under the launcher, its first process says it
        print(line, file=sys.stderr, flush=True)


_previous_hook = sys.excepthook
sys.excepthook = _report
