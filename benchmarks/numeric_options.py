"""Argparse types for the benchmarks' numeric options: a count below its
least (``--steps 0``, ``--repeats -1``) is an argument error naming the
option, not a ``StatisticsError`` from an empty median minutes later.
Imports nothing heavy, so a script refuses bad arguments at once."""
import argparse
import sys
from typing import Callable, Optional

from dld.reading_limits import MAX_SCALE


def at_least(minimum: int, kind: Callable = int,
             maximum: Optional[int] = None) -> Callable[[str], int]:
    """An argparse ``type``: a ``kind`` number no smaller than ``minimum``
    (and, given, no larger than ``maximum``)."""
    def parse(text: str):
        value = kind(text)  # a ValueError: argparse's "invalid int value"
        if not value >= minimum:  # NaN too
            raise argparse.ArgumentTypeError(f'must be >= {minimum:g}, got {text}')
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f'must be <= {maximum:g}, got {text}')
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def positive(text: str) -> float:
    """An argparse ``type``: a float above zero (a scale, a ratio); argparse
    calls a word that is no number an "invalid positive value"."""
    value = float(text)
    if not value > 0:  # nan too
        raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
    return value


def scale(text: str) -> float:
    """An argparse ``type``: a reading scale, in ``(0, MAX_SCALE]`` as the
    tools take it (``inf`` overflowed in the resize)."""
    value = positive(text)
    if value > MAX_SCALE:
        raise argparse.ArgumentTypeError(f'must be <= {MAX_SCALE:g}, got {text}')
    return value


if __name__ == '__main__':  # `for f in benchmarks/*.py`: it printed nothing and exited 0
    print('numeric_options.py: a helper module of the benchmarks, not a benchmark (see '
          'benchmarks/README.md)', file=sys.stderr)
    sys.exit(2)
