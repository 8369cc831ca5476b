"""Walking a folder tree the way the datasets and inference both read it."""
import logging
import os
import os.path as osp
from typing import Iterator, List, Tuple


def walk_following_links(root: str) -> Iterator[Tuple[str, List[str], List[str]]]:
    """``os.walk(root)`` that follows symlinked folders, in sorted order,
    walking each real folder once and no hidden folder below ``root``.

    Why: a release may link a scenario in from elsewhere, and the dataset
    and inference must read the same tracks from it; a link back up the
    tree would otherwise be walked forever. A folder whose name starts with
    a dot (``.ipynb_checkpoints``, ``.git``, the synthetic generator's
    ``.synth_partial``) holds copies or unfinished work, not data. Callers
    may prune ``dirnames``.

    A link to ``root`` itself or to a folder above it (``-> /``, ``-> ..``)
    is not followed, with a warning: it would read everything beside
    ``root`` (a link to ``/`` read every image of the machine, through
    ``/proc`` and other users' folders, into a training set).
    """
    visited = set()
    real_root = osp.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = osp.realpath(dirpath)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = [d for d in sorted(dirnames) if not d.startswith('.')
                       and not _links_above(osp.join(dirpath, d), real_root)]
        yield dirpath, dirnames, sorted(filenames)


def links_above(path: str, real_root: str) -> bool:
    """Whether ``path`` is a symlink to ``real_root`` or a folder holding it."""
    if not osp.islink(path):
        return False
    target = osp.realpath(path)
    return real_root == target or real_root.startswith(target.rstrip(os.sep) + os.sep)


def _links_above(path: str, real_root: str) -> bool:
    if not links_above(path, real_root):
        return False
    from mmengine.logging import print_log
    print_log(f'{path} links to {osp.realpath(path)}, which holds {real_root}, the folder '
              'being read: not followed (it would read everything beside it)',
              logger='current', level=logging.WARNING)
    return True
