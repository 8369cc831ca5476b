"""Checks of values read from the JSON files the tools write."""
from typing import Any, Optional


def not_a_number(value: Any) -> Optional[str]:
    """Why ``value``, a figure read from a result file, is no number (nor
    null), e.g. ``"'abc', not a number (or null)"``; None where it is one.
    A hand-edited figure was a TypeError in a mean, not a line naming it."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return None
    return f'{value!r}, not a number (or null)'
