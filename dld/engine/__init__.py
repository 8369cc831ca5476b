"""Training-loop parts: hooks, an optimizer wrapper, a scheduler, and checkpoint I/O.

Importing this package installs the checkpoint allow-list and the
weights-only loader (see :mod:`dld.engine.checkpoint`).
"""
from dld.utils.safe_yaml import register_safe_yaml

from . import hooks  # noqa: F401
from .checkpoint import (
    CHECKPOINT_SAFE_GLOBALS,
    CheckpointGlobalError,
    CheckpointReadError,
    allow_checkpoint_globals,
    load_checkpoint_file,
    register_checkpoint_io,
)
from .optim_wrappers import BF16OptimWrapper
from .schedulers import OneCycleLR

register_checkpoint_io()
register_safe_yaml()  # YAML configs and files read as data, never run

__all__ = [
    'BF16OptimWrapper', 'CHECKPOINT_SAFE_GLOBALS', 'CheckpointGlobalError', 'CheckpointReadError',
    'OneCycleLR', 'allow_checkpoint_globals', 'load_checkpoint_file', 'register_checkpoint_io'
]
