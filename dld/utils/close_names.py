"""The "did you mean" of an error: the known names close to a misspelt one."""
import difflib
from typing import Iterable, Optional


def did_you_mean(word: str, known: Iterable[str], n: int = 2,
                 quoted: bool = False) -> Optional[str]:
    """``'did you mean a or b?'`` for the (at most ``n``) names of ``known``
    close to ``word`` (``'a'`` quoted with ``quoted``); None when none is."""
    close = difflib.get_close_matches(word, sorted(set(known)), n=n, cutoff=0.6)
    if not close:
        return None
    return 'did you mean ' + ' or '.join(repr(c) if quoted else c for c in close) + '?'
