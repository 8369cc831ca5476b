"""What every tool sets up first, before it loads torch and MMEngine.

A tool imports this module before anything else; light itself (the
standard library's modules only), it is in place at once:

    import dld.tool_start  # noqa: F401  # isort: skip  (first: ...)

* A Ctrl-C while the tool loads (seconds, more on a busy machine) or reads
  its config printed 10 to 65 lines of import internals, once per process
  under the launcher: it is one line now. The interrupt still unwinds as
  before (``finally`` blocks and clean-up run, the status is the shell's
  130); only its report at the top changes. A stop the tool handles itself
  (training, testing, reading) says more.
* Output the console cannot encode (a Chinese plate's text on a Windows
  console, or a file of its code page: ``infer.py ... > readings.tsv``)
  was a UnicodeEncodeError that ended the run, its readings lost: such a
  character is written escaped (``\\u4eac``) instead. Files the tools write
  themselves are UTF-8 and keep every character.
"""
import multiprocessing.process
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


def escape_what_the_console_cannot_encode() -> None:
    """stdout and stderr write a character their encoding lacks as an
    escape (stderr does so already)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, 'reconfigure', None)  # None: replaced (a capture)
        if reconfigure is not None and stream.errors == 'strict':
            reconfigure(errors='backslashreplace')


def _in_a_spawned_worker() -> bool:
    """Whether this process is a worker that ``spawn`` (the start method on
    macOS and Windows) started by importing the tool again as ``__mp_main__``:
    a Ctrl-C as its loader workers started said the tool's line once more
    per worker, after the tool's own."""
    # set while a worker imports its parent's main module (multiprocessing's own check)
    return bool(getattr(multiprocessing.process.current_process(), '_inheriting', False))


escape_what_the_console_cannot_encode()
if not _in_a_spawned_worker():
    _previous_hook = sys.excepthook
    sys.excepthook = _report
