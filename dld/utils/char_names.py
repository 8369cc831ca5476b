"""Characters named so that a message shows the invisible ones, and
upper-cased one by one."""
import unicodedata
from typing import Sequence


def describe_chars(chars: Sequence[str]) -> str:
    """``chars`` (distinct, sorted) for a message: invisible ones (a
    combining accent, a zero-width space) by code point and name, with how
    to avoid a decomposed accent."""
    chars = sorted(set(chars))
    shown = [repr(c) if c.isprintable() and not unicodedata.combining(c) else
             f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in chars]
    text = f"[{', '.join(shown)}]"
    if any(unicodedata.combining(c) for c in chars):
        text += (" (a combining mark: the text is decomposed, e.g. 'U' + U+0308 for 'Ü'; "
                 "write it composed, unicodedata.normalize('NFC', text))")
    return text


def upper_each(text: str) -> str:
    """``text`` upper-cased one character at a time, a character whose
    capital is two ('ß' -> 'SS') kept as it is, so that a label keeps its
    length and each character its place."""
    return ''.join(u if len(u := c.upper()) == 1 else c for c in text)
