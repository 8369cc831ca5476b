"""Reading a config file so that its ``custom_imports`` find a project's package."""
import os
import sys

from mmengine.config import Config


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
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
    return Config.fromfile(path)
