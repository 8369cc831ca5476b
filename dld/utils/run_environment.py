"""What produced a report: when, with which code and libraries, on what."""
import datetime
import os.path as osp
import platform
import subprocess
from typing import Optional

#: The folder DLD's package is in: a checkout's root, or site-packages.
PACKAGE_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _git(root: str, *args: str) -> subprocess.CompletedProcess:
    """``git -C root args``; git writes UTF-8, which the locale's encoding
    (Windows' cp1252) read as an error for a checkout under ``Ábaco``, and
    others as a path garbled."""
    return subprocess.run(['git', '-C', root, *args], capture_output=True, encoding='utf-8',
                          errors='replace', timeout=10)


def code_commit(root: str = PACKAGE_ROOT) -> Optional[str]:
    """The git commit of the checkout at ``root`` DLD was run from (``+``
    where files were changed since), None where ``root`` is no checkout's
    root (an installed copy, also one in a virtual environment inside
    another repository)."""
    try:
        top = _git(root, 'rev-parse', '--show-toplevel')
        # an installed copy inside another checkout (a venv in a repository) is not it
        if top.returncode or osp.realpath(top.stdout.strip()) != osp.realpath(root):
            return None
        commit = _git(root, 'rev-parse', '--short=12', 'HEAD')
        if commit.returncode:
            return None
        changed = _git(root, 'status', '--porcelain', '--untracked-files=no')
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.stdout.strip() + ('+' if changed.stdout.strip() else '')


def run_environment() -> dict:
    """``created`` (UTC), ``dld`` version and ``commit``, ``torch`` and
    ``python`` versions, ``threads`` (torch's, each process's),
    ``processes`` (of a distributed run; 1 otherwise), ``processor``:
    enough to tell two reports' runs apart, and to rerun one."""
    import cv2
    import mmengine
    import numpy
    import torch
    from mmengine.dist import get_world_size

    import dld
    return dict(created=datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec='seconds'), dld=dld.__version__, commit=code_commit(),
        torch=torch.__version__, python=platform.python_version(),
        # the libraries that move a figure too: OpenCV renders and resizes the
        # plates (the synthetic set's bytes), NumPy draws the augmentations
        mmengine=mmengine.__version__, numpy=numpy.__version__, opencv=cv2.__version__,
        threads=torch.get_num_threads(), processes=get_world_size(),
        processor=platform.processor() or platform.machine())
