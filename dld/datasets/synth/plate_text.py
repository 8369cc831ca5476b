"""Plate layouts as pattern strings, and random plate texts drawn from them.

A pattern has one symbol per plate position: ``L`` a letter A-Z, ``N`` a
digit, ``A`` either. Any other character is printed on the plate as it is;
the label keeps the letters and digits among them and drops separators
(``-``, space), e.g. the old Brazilian plate shows ``ABC-1234`` and its label
is ``ABC1234``, and ``'BR-NN'`` shows ``BR-42`` with the label ``BR42``.
"""
import math
import re
import string
from typing import Tuple

import numpy as np

#: Layout name -> display pattern.
LAYOUTS = {
    'brazilian': 'LLL-NNNN',
    'mercosur': 'LLLNLNN',
}

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
    return layout, layout


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
