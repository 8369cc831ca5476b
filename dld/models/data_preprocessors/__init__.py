"""Data preprocessors, registered in :data:`dld.registry.MODELS`."""
from .plate_data_preprocessor import PlateDataPreprocessor

__all__ = ['PlateDataPreprocessor']
