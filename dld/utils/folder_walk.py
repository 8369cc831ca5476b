"""Walking a folder tree the way the datasets and inference both read it."""
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
    """
    visited = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = osp.realpath(dirpath)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        yield dirpath, dirnames, sorted(filenames)
