"""Paths as messages show them."""
import os.path as osp


def where(path: str) -> str:
    """``path`` quoted, a relative one also resolved: configs name data and
    teachers relative to the folder the tools run in, which for a project
    kept elsewhere is not DLD's (``'data/x' (/proj/data/x)``)."""
    if not path or osp.isabs(path):
        return repr(path)
    return f'{path!r} ({osp.abspath(path)})'


def below(path: str, folder: str = '.') -> str:
    """``path`` relative to ``folder`` (the working one by default) where it
    lies below it, else as given: short where the user is, exact elsewhere."""
    rel = osp.relpath(osp.abspath(path), osp.abspath(folder))
    return path if rel.startswith('..') else rel
