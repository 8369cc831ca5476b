"""When a reading counts as right, and how tracks vote: as the config's
metrics count and vote."""
from typing import Any, Dict, List, Tuple

PLATE_METRIC_TYPES = ('PlateRecogMetric', 'dld.PlateRecogMetric')
TRACK_METRIC_TYPES = ('TrackAccuracyMetric', 'dld.TrackAccuracyMetric')


def plate_metric_case_sensitive(cfg) -> bool:
    """Whether the config's plate metric compares case (the report's "correct" must agree).

    A config without one (an inference-only config, which
    :class:`~dld.apis.PlateRecognizer` reads) compares as the metric's
    default does: case-insensitively.
    """
    plate = _test_metrics(cfg, PLATE_METRIC_TYPES)
    return bool(plate and plate[0].get('case_sensitive', False))


def has_plate_metric(cfg) -> bool:
    """Whether the config's ``test_evaluator`` holds a plate metric (the
    reports' accuracy columns come from it)."""
    return bool(_test_metrics(cfg, PLATE_METRIC_TYPES))


def track_metric_voting(cfg) -> Dict[str, Any]:
    """How the config's track metric votes: ``layouts`` (a tuple, or None)
    and ``vote`` (``'text'`` by default), so that ``tools/infer.py --track``
    votes as the metric scores."""
    from dld.evaluation.metrics import as_layouts
    track = _test_metrics(cfg, TRACK_METRIC_TYPES)
    metric = track[0] if track else {}
    return dict(layouts=as_layouts(metric.get('layouts')), vote=metric.get('vote', 'text'))


def check_track_voting(layouts, vote: str) -> None:
    """A ``ValueError`` for a vote or layout that :func:`vote_track` does not know."""
    from dld.evaluation.metrics import VOTE_METHODS, layout_matcher
    if vote not in VOTE_METHODS:
        raise ValueError(f'track vote must be one of {VOTE_METHODS}, got {vote!r}')
    layout_matcher(layouts or ())


def _test_metrics(cfg, types: Tuple[str, ...]) -> List[dict]:
    """The configs of ``test_evaluator``'s metrics of one of ``types``.

    ``test_evaluator`` may be one metric, a list of them, or MMEngine's
    ``dict(type='Evaluator', metrics=[...])``; a metric's ``type`` a name or
    the class.
    """
    metric_cfgs = cfg.get('test_evaluator')
    if isinstance(metric_cfgs, dict) and 'metrics' in metric_cfgs:
        metric_cfgs = metric_cfgs['metrics']
    if metric_cfgs is None:
        metric_cfgs = []
    metric_cfgs = metric_cfgs if isinstance(metric_cfgs, (list, tuple)) else [metric_cfgs]
    return [m for m in metric_cfgs if isinstance(m, dict) and _type_name(m.get('type')) in types]


def _type_name(kind) -> str:
    return kind if isinstance(kind, str) else getattr(kind, '__name__', '')


def plate_read_right(pred: str, gt: str, case_sensitive: bool) -> bool:
    """A plate counts as read when the whole string matches, as the plate metric
    counts it; an unlabelled plate (empty ``gt``) never does."""
    if not gt:
        return False
    return pred == gt if case_sensitive else pred.upper() == gt.upper()
