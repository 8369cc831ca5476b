from .plate_recog_metric import PlateRecogMetric, plate_scores
from .track_accuracy_metric import TrackAccuracyMetric, confidence_gap, vote_track

__all__ = ['PlateRecogMetric', 'TrackAccuracyMetric', 'confidence_gap', 'plate_scores',
           'vote_track']
