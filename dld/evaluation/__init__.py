from . import metrics  # noqa: F401
from .metrics import PlateRecogMetric, TrackAccuracyMetric

__all__ = ['PlateRecogMetric', 'TrackAccuracyMetric']
