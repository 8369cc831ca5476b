"""Data samplers (``DATA_SAMPLERS``)."""
from .epoch_offset_sampler import EpochOffsetSampler

__all__ = ['EpochOffsetSampler']
