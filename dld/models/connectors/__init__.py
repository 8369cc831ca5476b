"""Shape adapters between student and teacher features."""
from .content_resize import resize_content, resize_content_steps
from .feature_map_connector import FeatureMapConnector
from .sequence_connector import SequenceConnector

__all__ = ['FeatureMapConnector', 'SequenceConnector', 'resize_content',
           'resize_content_steps']
