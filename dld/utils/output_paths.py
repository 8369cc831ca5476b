"""Whether a tool's output files and folders can be written, asked before
any image is read, so that a typo in a path does not cost the whole run."""
import os
import os.path as osp
from typing import Iterable, List, Optional, Tuple


def unwritable_outputs(files: Iterable[Tuple[str, Optional[str], str]] = (),
                       folders: Iterable[Tuple[str, Optional[str]]] = ()) -> List[str]:
    """Why each output cannot be written; empty when all can.

    Args:
        files: ``(flag, path, kind)``, e.g. ``('--out', 'r.jsonl', '.jsonl')``;
            a None path is not asked for. The parent folder is created.
        folders: ``(flag, path)`` of folders written into (created).
    """
    problems, targets = [], []
    for flag, path, kind in files:
        if not path:
            continue
        if osp.isdir(path):
            problems.append(f'{flag} {path} is a folder; give a {kind} file')
        else:
            targets.append((flag, path, osp.dirname(osp.abspath(path))))
    for flag, path in folders:
        if not path:
            continue
        if osp.exists(path) and not osp.isdir(path):
            problems.append(f'{flag} {path} is a file; give a folder')
        else:
            targets.append((flag, path, osp.abspath(path)))
    for flag, given, folder in targets:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            problems.append(f'{flag} {given}: cannot create {folder}: {err.strerror}')
            continue
        if not os.access(folder, os.W_OK | os.X_OK):
            problems.append(f'{flag} {given}: {folder} is not writable')
    return problems
