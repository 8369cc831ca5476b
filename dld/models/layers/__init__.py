"""Layers shared by several model families."""
from .scale_batch_norm import ScaleBatchNorm2d, convert_to_scale_batch_norm, set_active_scale

__all__ = ['ScaleBatchNorm2d', 'convert_to_scale_batch_norm', 'set_active_scale']
