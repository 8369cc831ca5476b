"""Plate datasets, transforms and the synthetic-plate generator.

Everything here registers itself in :mod:`dld.registry` (``DATASETS``,
``TRANSFORMS``) when imported; configs name the classes by type.
"""
from . import samplers, transforms  # noqa: F401
from .base_plate_dataset import BasePlateDataset, TrackRecord
from .degradation import DegradationConfig, degrade_plate
from .epoch_wrappers import ClassBalancedDataset, ConcatDataset, RepeatDataset, reads_past_end
from .errors import (
                     DataNotFoundError,
                     DataSourceError,
                     ImageLoadError,
                     PlateAnnotationError,
                     PlateSetExistsError,
                     RetryExhaustedError,
)
from .lrlpr_track_dataset import LRLPRTrackDataset
from .nested_datasets import nested_datasets
from .online_synth_plate_dataset import OnlineSynthPlateDataset
from .paired_plate_dataset import PairedPlateDataset
from .plate_collate import plate_collate
from .samplers import EpochOffsetSampler
from .seeded_pipeline import SeededPipelineMixin
from .skipped_image_counter import SkippedImageCounter
from .synth import ensure_synth_plates, generate_synth_plates

__all__ = [
    'BasePlateDataset', 'TrackRecord', 'PairedPlateDataset', 'LRLPRTrackDataset',
    'OnlineSynthPlateDataset', 'EpochOffsetSampler', 'SeededPipelineMixin', 'SkippedImageCounter',
    'PlateAnnotationError', 'ImageLoadError', 'RetryExhaustedError', 'DataSourceError',
    'DataNotFoundError', 'PlateSetExistsError', 'DegradationConfig',
    'degrade_plate', 'ensure_synth_plates', 'generate_synth_plates', 'nested_datasets',
    'ClassBalancedDataset', 'ConcatDataset', 'RepeatDataset', 'reads_past_end', 'plate_collate'
]
