"""Shape adapters between student and teacher features."""
from .feature_map_connector import FeatureMapConnector
from .sequence_connector import SequenceConnector

__all__ = ['FeatureMapConnector', 'SequenceConnector']
