"""Paths as messages show them."""
import os.path as osp


def where(path: str) -> str:
    """``path`` quoted, a relative one also resolved: configs name data and
    teachers relative to the folder the tools run in, which for a project
    kept elsewhere is not DLD's (``'data/x' (/proj/data/x)``)."""
    if not path or osp.isabs(path):
        return repr(path)
    return f'{path!r} ({osp.abspath(path)})'
