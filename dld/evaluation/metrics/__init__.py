from .dump_readings import DumpReadings
from .plate_recog_metric import PlateRecogMetric, plate_scores
from .reading_cost_metric import ReadingCostMetric
from .track_accuracy_metric import TrackAccuracyMetric, confidence_gap
from .track_voting import (
    VOTE_METHODS,
    as_layouts,
    layout_classifier,
    layout_matcher,
    track_confidence,
    vote_track,
)

__all__ = ['DumpReadings', 'PlateRecogMetric', 'ReadingCostMetric', 'TrackAccuracyMetric',
           'VOTE_METHODS', 'as_layouts', 'confidence_gap', 'layout_classifier', 'layout_matcher',
           'plate_scores', 'track_confidence', 'vote_track']
