"""High-level APIs: plate inference and the FLOPs/accuracy report."""
from .image_input import ImageInputError, normalize_image, read_image_file
from .input_items import InputItem, expand_inputs
from .model_loading import CheckpointMismatchError, init_model, load_config
from .plate_recognizer import PlateRecognizer, ReadingInterrupted, tracks_path, vote_tracks
from .prediction_drawing import draw_prediction, save_visualization
from .scaled_prediction import decoding, predict_at_scale
from .student_extraction import extract_student

__all__ = [
    'PlateRecognizer', 'ReadingInterrupted', 'tracks_path', 'vote_tracks', 'ImageInputError',
    'read_image_file', 'normalize_image', 'InputItem', 'expand_inputs', 'CheckpointMismatchError',
    'init_model', 'load_config', 'draw_prediction', 'save_visualization', 'decoding',
    'predict_at_scale', 'extract_student'
]
