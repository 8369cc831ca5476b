"""Characters named so that a message shows the invisible ones, and
upper-cased one by one."""
import unicodedata
from typing import Sequence


def describe_chars(chars: Sequence[str]) -> str:
    """``chars`` (distinct, sorted) for a message: invisible ones (a
    combining accent, a zero-width space) by code point and name, with how
    to avoid a decomposed accent; a visible one that looks like an ASCII
    character it is not (Cyrillic 'А', a full-width '１') with its code point
    and name too, as the dictionary's 'A' looked the same in the message."""
    chars = sorted(set(chars))
    shown = [(repr(c) + (f" (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})"
                         if _looks_ascii(c) else ''))
             if c.isprintable() and not unicodedata.combining(c) else
             f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in chars]
    text = f"[{', '.join(shown)}]"
    if any(unicodedata.combining(c) for c in chars):
        text += (" (a combining mark: the text is decomposed, e.g. 'U' + U+0308 for 'Ü'; "
                 "write it composed, unicodedata.normalize('NFC', text))")
    if any(unicodedata.normalize('NFKC', c) != c and unicodedata.normalize('NFKC', c).isascii()
           for c in chars):
        text += (" (a full-width or compatibility form of an ASCII character: "
                 "unicodedata.normalize('NFKC', text) writes it plainly)")
    return text


#: Scripts whose letters are drawn like Latin ones.
_LOOKALIKE_SCRIPTS = ('CYRILLIC', 'GREEK')


def _looks_ascii(char: str) -> bool:
    """Whether ``char``, not ASCII, is drawn like an ASCII character: a
    full-width or compatibility form of one, or a Cyrillic or Greek letter."""
    if char.isascii():
        return False
    folded = unicodedata.normalize('NFKC', char)
    return (folded != char and folded.isascii()) or \
        unicodedata.name(char, '').startswith(_LOOKALIKE_SCRIPTS)


def upper_each(text: str) -> str:
    """``text`` upper-cased one character at a time, a character whose
    capital is two ('ß' -> 'SS') kept as it is, so that a label keeps its
    length and each character its place."""
    return ''.join(u if len(u := c.upper()) == 1 else c for c in text)
