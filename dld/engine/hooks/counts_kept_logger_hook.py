"""MMEngine's LoggerHook, whose JSON log keeps the metrics' counts."""
import numbers

import numpy as np
from mmengine.hooks import LoggerHook

from dld.registry import HOOKS


@HOOKS.register_module()
class CountsKeptLoggerHook(LoggerHook):
    """``LoggerHook`` writing numpy numbers to the JSON log as the numbers
    they are.

    Why: MMEngine's message hub hands the test metrics back as numpy
    scalars, and its JSON writer keeps only Python ``int`` and ``float``:
    every count of a test run's log (``plate/num_samples``,
    ``track/num_tracks``, ``cost/num_images``) was written as null.
    """

    @staticmethod
    def _process_tags(tags: dict):
        return LoggerHook._process_tags(_plain(tags))


def _plain(value):
    """``value`` with its numpy scalars made Python numbers, nested too."""
    if isinstance(value, dict):
        return type(value)((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.generic) and isinstance(value.item(), (numbers.Number, bool)):
        return value.item()
    return value
