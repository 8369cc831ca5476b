from . import metrics  # noqa: F401
from .metrics import PlateRecogMetric, ReadingCostMetric, TrackAccuracyMetric

__all__ = ['PlateRecogMetric', 'ReadingCostMetric', 'TrackAccuracyMetric']
