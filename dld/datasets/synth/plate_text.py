"""Plate layouts as pattern strings, and random plate texts drawn from them.

A pattern has one symbol per plate position: ``L`` a letter A-Z, ``N`` a
digit, ``A`` either. Any other character is printed on the plate as it is;
the label keeps the letters and digits among them and drops separators
(``-``, space), e.g. the old Brazilian plate shows ``ABC-1234`` and its label
is ``ABC1234``, and ``'BR-NN'`` shows ``BR-42`` with the label ``BR42``.

A ``/`` (:data:`ROW_SEPARATOR`) splits the plate into rows, drawn one above
the other on a squarer plate (motorcycle plates): ``'LLL/NNNN'`` shows
``ABC`` over ``1234``, and its label is the rows joined, top row first
(``ABC1234``), as plate datasets write two-row plates; a ``/`` itself is
not printed (before two-row plates, ``'NN/NN'`` printed ``12/34``).
"""
import itertools
import math
import re
import string
from typing import Sequence, Tuple

import numpy as np

#: Layout name -> display pattern.
LAYOUTS = {
    'brazilian': 'LLL-NNNN',
    'mercosur': 'LLLNLNN',
}

#: Splits a pattern (and the text drawn from it) into plate rows.
ROW_SEPARATOR = '/'

_SLOTS = {'L': string.ascii_uppercase, 'N': string.digits,
          'A': string.digits + string.ascii_uppercase}


def resolve_layout(layout: str) -> Tuple[str, str]:
    """Return ``(name, pattern)`` for a layout name or a pattern string."""
    key = layout.lower()
    if key in LAYOUTS:
        return key, LAYOUTS[key]
    if not any(c in _SLOTS for c in layout):
        raise ValueError(f'Layout {layout!r} is neither a known layout {sorted(LAYOUTS)} '
                         "nor a pattern with 'L' (letter), 'N' (digit) or 'A' (either) slots")
    rows = plate_rows(layout)
    if len(rows) > 2 or not all(any(c in _SLOTS or c.isalnum() for c in r) for r in rows):
        raise ValueError(f'Layout {layout!r}: {ROW_SEPARATOR!r} splits a plate into two rows, '
                         "each with a letter, a digit or a slot (e.g. 'LLL/NNNN')")
    return layout, layout


def plate_rows(display: str) -> list:
    """The rows of a drawn plate text, top first (one for a one-row plate)."""
    return display.split(ROW_SEPARATOR)


def label_pattern(pattern: str) -> str:
    """The pattern of the label: the slots and the printed letters and digits,
    as :func:`sample_plate_text` keeps them (``'LLL-NNNN'`` -> ``'LLLNNNN'``,
    ``'BR-NN'`` -> ``'BRNN'``)."""
    return ''.join(c for c in pattern if c in _SLOTS or c.isalnum())


def label_chars(pattern: str) -> str:
    """Every character a label drawn from ``pattern`` can hold, sorted."""
    chars = set()
    for c in pattern:
        chars |= set(_SLOTS[c]) if c in _SLOTS else ({c} if c.isalnum() else set())
    return ''.join(sorted(chars))


def num_labels(pattern: str) -> int:
    """How many labels :func:`sample_plate_text` can draw from ``pattern``."""
    return math.prod(len(_SLOTS[c]) for c in pattern if c in _SLOTS)


def literal_chars(pattern: str) -> str:
    """The characters ``pattern`` prints as they are (``'-'`` of ``'LLL-NNNN'``)."""
    return ''.join(c for c in pattern if c not in _SLOTS)


def label_space(patterns: Sequence[str]) -> int:
    """How many distinct labels the label patterns (:func:`label_pattern`'s)
    can draw together. Patterns of one length may overlap (``'N'`` and
    ``'A'`` share the digits, ``'LLLNANN'`` holds every Mercosur label), so
    their labels are counted once (inclusion-exclusion over each length's
    patterns; beyond 12 of one length, the sum, an upper bound)."""
    def position_sets(pattern):
        return [frozenset(_SLOTS[c]) if c in _SLOTS else frozenset(c) for c in pattern]

    by_len = {}
    for pattern in set(patterns):
        by_len.setdefault(len(pattern), []).append(position_sets(pattern))
    total = 0
    for group in by_len.values():
        if len(group) > 12:
            total += sum(math.prod(len(s) for s in sets) for sets in group)
            continue
        for r in range(1, len(group) + 1):
            for combo in itertools.combinations(group, r):
                common = math.prod(len(frozenset.intersection(*column)) for column in zip(*combo))
                total += common if r % 2 else -common
    return total


def sample_plate_text(pattern: str, rng: np.random.Generator) -> Tuple[str, str]:
    """Draw a plate: ``(label, display)``, e.g. ``('ABC1234', 'ABC-1234')``."""
    display = ''.join(_SLOTS[c][rng.integers(len(_SLOTS[c]))] if c in _SLOTS else c
                      for c in pattern)
    return ''.join(c for c in display if c.isalnum()), display


def text_matches(label: str, pattern: str) -> bool:
    """Whether ``label`` (no separators) is one :func:`sample_plate_text`
    can draw from ``pattern``: a slot matches its class, any other letter or
    digit only itself."""
    classes = {'L': '[A-Z]', 'N': '[0-9]', 'A': '[A-Z0-9]'}
    regex = ''.join(classes.get(c) or re.escape(c) for c in label_pattern(pattern))
    return re.fullmatch(regex, label) is not None
