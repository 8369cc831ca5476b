"""Distillation losses: pure functions in :mod:`.functional`, registered modules here.

Module files are named after the concept (``kl_div.py``) so that the package
attribute ``kl_div_loss`` stays the function, not a submodule.
"""
from .dkd import DKDLoss
from .dml import DMLLoss
from .feature_distance import FeatureDistanceLoss
from .functional import (
    dkd_loss,
    dml_loss,
    feature_distance_loss,
    kl_div_loss,
    resolution_selector_loss,
    sequence_kd_loss,
)
from .kl_div import KLDivLoss
from .resolution_selector import ResolutionSelectorLoss
from .sequence_kd import SequenceKDLoss

__all__ = [
    'KLDivLoss', 'DMLLoss', 'DKDLoss', 'SequenceKDLoss', 'FeatureDistanceLoss',
    'ResolutionSelectorLoss', 'kl_div_loss', 'dml_loss', 'dkd_loss', 'sequence_kd_loss',
    'feature_distance_loss', 'resolution_selector_loss'
]
