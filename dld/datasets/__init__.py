"""Datasets and transforms, registered in :mod:`dld.registry`."""
from . import transforms  # noqa: F401
