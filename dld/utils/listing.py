"""The first few of a long list, and how many more: one wording for every
message that names what it found (a thousand bad lines said by ten)."""
from typing import Optional, Sequence


def first_and_more(items: Sequence[str], shown: int, sep: str = ', ',
                   total: Optional[int] = None) -> str:
    """``'a, b, c and 4 more'``: the first ``shown`` items on one line.

    ``total``: how many there are where ``items`` holds the first ones only.
    """
    total = len(items) if total is None else total
    more = total - min(shown, len(items))
    return sep.join(items[:shown]) + (f' and {more} more' if more > 0 else '')


def lines_and_more(items: Sequence[str], shown: int, indent: str = '  ') -> str:
    """The first ``shown`` items one a line, indented, then ``... and 4 more``."""
    lines = [f'{indent}{item}' for item in items[:shown]]
    if len(items) > shown:
        lines.append(f'{indent}... and {len(items) - shown} more')
    return '\n'.join(lines)

