"""Why a path that is not there may be meant otherwise."""
import os
import os.path as osp
import unicodedata
from typing import Sequence


def missing_path_hint(path: str) -> str:
    """Why a path that is not there may be meant, '' if no cause is seen:
    backslashes (a label file written on Windows), or a name spelt in the
    other Unicode normal form than the disk's (``ü`` as one code point or
    two: a file copied from a Mac)."""
    if os.sep != '\\' and '\\' in path:
        return ("; a path with backslashes: written on Windows? Write it with '/', which every "
                'system reads')
    for form in ('NFC', 'NFD'):
        other = unicodedata.normalize(form, path)
        if other != path and osp.exists(other):
            return (f'; it is there spelt in Unicode form {form} (accented letters as '
                    f"{'one code point' if form == 'NFC' else 'a letter and a mark'}): a name "
                    'copied from another system; write the path as the disk spells it')
    return ''


def backslash_hint(paths: Sequence[str]) -> str:
    """A line saying why paths with backslashes are not found off Windows
    (a label file written there), '' where none has one."""
    if os.sep == '\\' or not any('\\' in p for p in paths):
        return ''
    return ("\n  (paths with backslashes: a label file written on Windows? Write them with "
            "'/', which every system reads)")
