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


def of_dld(path: str) -> str:
    """``path`` (``tools/train.py``) as given where the working folder holds
    it, else in DLD's checkout where that holds it: a project of one's own
    has no tools/ or configs/ of DLD's (a newcomer's journey)."""
    if osp.exists(path):
        return path
    from dld.utils.run_environment import PACKAGE_ROOT
    there = osp.join(PACKAGE_ROOT, path)
    return there if osp.exists(there) else path
