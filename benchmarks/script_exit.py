"""How a benchmark ends on input it cannot use: one line and exit status 2.

A config or checkpoint that is not there, a refused ``--cfg-options`` key or
a setting its model refuses ended a benchmark with a traceback of 10 to 25
lines through DLD and MMEngine, the cause on its last line; the tools say
the same in one line, and so do the benchmarks, through the tools' own
handlers (:mod:`dld.engine.launch`). ``DLD_TRACEBACK=1`` keeps the traceback.
Ctrl-C or SIGTERM is one line too (:func:`dld.utils.tool_steps.exit_on_stop`).
"""
import argparse
import contextlib
import sys
from typing import Callable, Iterator


class Refusal(SystemExit):
    """A benchmark's refusal of several lines (the runs it lacks, say):
    exit status 2, as every other refusal; :func:`run_script` prints it."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message

    def __str__(self) -> str:
        return self.message


def json_file(path: str) -> str:
    """``--json``'s type: a file that can be written, asked before anything
    is measured (a folder or an unwritable place failed after the run, its
    figures lost with a traceback)."""
    from dld.utils.output_paths import unwritable_outputs
    problems = unwritable_outputs(files=[('--json', path, '.json')], create=False)
    if problems:
        raise argparse.ArgumentTypeError(problems[0].replace('--json ', '', 1))
    return path


def run_script(main: Callable[[], object], name: str, again: str = '') -> int:
    """``main()``'s exit status (0 where it returns no number: the figures
    some return for their tests); ``name`` starts the line of a refusal,
    which exits with status 2, and of a stop by Ctrl-C or SIGTERM, which
    exits with the signal's status (``again``: how to go on)."""
    from dld.utils.tool_steps import exit_on_stop  # light: the standard library

    try:
        with exit_on_stop(name, again):
            try:
                status = main()
            except Exception as err:  # said as the tools say it, or raised as it was
                said_as_the_tools_say(err, name)
                raise
    except Refusal as refusal:
        print(refusal, file=sys.stderr)
        return 2
    return status if isinstance(status, int) else 0


def said_as_the_tools_say(err: Exception, name: str) -> None:
    """Raise ``err`` through the tools' handlers: inside, a misspelt
    --cfg-options key or a config's syntax, as the tools say them (their
    errors are ValueErrors too); outside, a file not there, a setting
    refused, or any other error of those kinds, with where it was raised.
    Imported only once an error came: they load torch and MMEngine
    (seconds), which ``--help`` and a usage error need not wait for."""
    from dld.engine.launch import build_errors_exit, config_errors_exit, data_errors_exit
    with build_errors_exit(name, what=''), checkpoint_errors_exit(name), \
            data_errors_exit(name), config_errors_exit(name):
        raise err


@contextlib.contextmanager
def checkpoint_errors_exit(name: str) -> Iterator[None]:
    """A checkpoint of another model (a teacher's where a DLD one is read,
    other scales) or one that cannot be read, and a file that cannot be
    written: one line, as the tools say it (it was a traceback)."""
    from dld.apis.model_loading import CheckpointMismatchError
    from dld.engine.checkpoint import CheckpointReadError
    from dld.engine.launch import refuse
    try:
        yield
    except (CheckpointMismatchError, CheckpointReadError) as err:
        refuse(f'{name}: {err}')
    except (PermissionError, IsADirectoryError, NotADirectoryError) as err:
        # a place --json's check could not foresee (root may write where
        # the file system refuses)
        refuse(f'{name}: {err.strerror}: {err.filename}')


if __name__ == '__main__':  # `for f in benchmarks/*.py`: it printed nothing and exited 0
    print('script_exit.py: a helper module of the benchmarks, not a benchmark (see '
          'benchmarks/README.md)', file=sys.stderr)
    sys.exit(2)
