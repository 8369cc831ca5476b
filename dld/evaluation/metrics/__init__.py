from .plate_recog_metric import PlateRecogMetric, plate_scores
from .track_accuracy_metric import TrackAccuracyMetric, vote_track

__all__ = ['PlateRecogMetric', 'TrackAccuracyMetric', 'plate_scores', 'vote_track']
