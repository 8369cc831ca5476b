"""How a benchmark ends on input it cannot use: one line and exit status 2.

A config or checkpoint that is not there, a refused ``--cfg-options`` key or
a setting its model refuses ended a benchmark with a traceback of 10 to 25
lines through DLD and MMEngine, the cause on its last line; the tools say
the same in one line (:mod:`dld.engine.launch`). ``DLD_TRACEBACK=1`` keeps
the traceback.
"""
import os
import sys
from typing import Callable


def run_script(main: Callable[[], object], name: str) -> int:
    """``main()``'s exit status (0 where it returns no number: the figures
    some return for their tests); ``name`` starts the line of a refusal."""
    from dld.engine.launch import config_errors_exit
    try:
        with config_errors_exit(name):  # a misspelt --cfg-options key, a config's syntax
            status = main()
        return status if isinstance(status, int) else 0
    except (FileNotFoundError, ValueError, TypeError, KeyError) as err:
        if os.environ.get('DLD_TRACEBACK'):
            raise
        # a KeyError's str() quotes its message
        text = str(err.args[0]) if type(err) is KeyError and err.args else str(err)
        print(f'{name}: {text} ({type(err).__name__}; DLD_TRACEBACK=1 shows where)',
              file=sys.stderr)
        return 2
