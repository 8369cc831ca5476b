"""When a reading counts as right, and how tracks vote: as the config's
metrics count and vote."""
from typing import Any, Dict, List, Optional

from dld.utils.char_names import upper_each


def plate_metric_case_sensitive(cfg) -> bool:
    """Whether the config's plate metric compares case (the report's "correct" must agree).

    A config without one (an inference-only config, which
    :class:`~dld.apis.PlateRecognizer` reads) compares as the metric's
    default does: case-insensitively. A setting the metric's build refuses
    (``case_sensitive='False'``, a string, so true) is refused here too, as
    ``tools/test.py`` refuses it, rather than read as true.
    """
    from dld.utils.flags import check_flag
    plate = _test_metrics(cfg, _plate_metric_class())
    if not plate:
        return False
    return check_flag(plate[0].get('case_sensitive', False),
                      'test_evaluator: PlateRecogMetric.case_sensitive')


def has_plate_metric(cfg) -> bool:
    """Whether the config's ``test_evaluator`` holds a plate metric (the
    reports' accuracy columns come from it)."""
    return bool(_test_metrics(cfg, _plate_metric_class()))


def plate_metric_group_by(cfg) -> Optional[str]:
    """The config's plate metric's ``group_by`` (``'set'``, ``'folder'``), else
    None: the groups the report's plate accuracy is also given for."""
    plate = _test_metrics(cfg, _plate_metric_class())
    return plate[0].get('group_by') if plate else None


def track_metric_voting(cfg) -> Dict[str, Any]:
    """How the config's track metric votes: ``layouts`` (a tuple, or None)
    and ``vote`` (``'text'`` by default), so that ``tools/infer.py --track``
    votes as the metric scores."""
    from dld.evaluation.metrics import TrackAccuracyMetric, as_layouts
    track = _test_metrics(cfg, TrackAccuracyMetric)
    metric = track[0] if track else {}
    return dict(layouts=as_layouts(metric.get('layouts')), vote=metric.get('vote', 'text'))


def check_track_voting(layouts, vote: str) -> None:
    """A ``ValueError`` for a vote or layout that :func:`vote_track` does not know."""
    from dld.evaluation.metrics import VOTE_METHODS, layout_matcher
    if vote not in VOTE_METHODS:
        raise ValueError(f'track vote must be one of {VOTE_METHODS}, got {vote!r}')
    layout_matcher(layouts or ())


def _plate_metric_class() -> type:
    from dld.evaluation.metrics import PlateRecogMetric
    return PlateRecogMetric


def _test_metrics(cfg, kind: type) -> List[dict]:
    """The configs of ``test_evaluator``'s metrics that are ``kind`` or a
    subclass of it (a project's metric built on DLD's counts as DLD's).

    ``test_evaluator`` may be one metric, a list of them, or MMEngine's
    ``dict(type='Evaluator', metrics=[...])``; a metric's ``type`` a name
    (``'PlateRecogMetric'``, ``'dld.PlateRecogMetric'``, a project's
    ``'myproj.MyMetric'`` once its ``custom_imports`` are imported) or the
    class.
    """
    metric_cfgs = cfg.get('test_evaluator')
    if isinstance(metric_cfgs, dict) and 'metrics' in metric_cfgs:
        metric_cfgs = metric_cfgs['metrics']
    if metric_cfgs is None:
        metric_cfgs = []
    metric_cfgs = metric_cfgs if isinstance(metric_cfgs, (list, tuple)) else [metric_cfgs]
    return [m for m in metric_cfgs
            if isinstance(m, dict) and _is_metric_of(m.get('type'), kind)]


def _is_metric_of(metric_type, kind: type) -> bool:
    cls = _metric_class(metric_type)
    return isinstance(cls, type) and issubclass(cls, kind)


def _metric_class(metric_type) -> Optional[type]:
    """The class a metric config's ``type`` builds; None for a name no
    registry knows (the evaluator's build names it)."""
    if not isinstance(metric_type, str):
        return metric_type
    from dld.registry import METRICS
    try:
        return METRICS.get(metric_type)
    except (KeyError, ValueError):  # an unknown scope prefix
        return None


def plate_read_right(pred: str, gt: str, case_sensitive: bool) -> bool:
    """A plate counts as read when the whole string matches, as the plate metric
    counts it; an unlabelled plate (empty ``gt``) never does."""
    if not gt:
        return False
    return pred == gt if case_sensitive else upper_each(pred) == upper_each(gt)
