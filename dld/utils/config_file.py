"""Reading a config file so that its ``custom_imports`` find a project's package."""
import os
import sys
from typing import Mapping

from mmengine.config import Config
from mmengine.utils import import_modules_from_strings


def read_config(path: str) -> Config:
    """``Config.fromfile(path)`` with the working directory importable.

    Why: a config's ``custom_imports`` name a package by its import path,
    e.g. ``projects.mobile_student.mobile_student`` (docs/customize.md), and
    ``Config.fromfile`` imports it. Run as ``python tools/train.py``, Python
    puts ``tools/`` on ``sys.path``, not the directory the command runs in,
    so the import would fail without ``PYTHONPATH=.``; ``python -m`` would
    find it, and so do the tools now. The directory is appended, so an
    installed package of the same name keeps precedence.
    """
    _working_directory_importable()
    return Config.fromfile(path)


def import_custom_modules(cfg: Mapping) -> None:
    """Import a config object's ``custom_imports``, as :func:`read_config`
    does for a file: a config built or changed in Python (``PlateRecognizer``
    given a ``Config`` or a dict) is not read from a file, so nothing has
    imported the project's package yet."""
    imports = cfg.get('custom_imports')
    if imports:
        _working_directory_importable()
        import_modules_from_strings(**imports)


def _working_directory_importable() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
