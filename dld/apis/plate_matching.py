"""When a reading counts as right: as the config's plate metric counts it."""

PLATE_METRIC_TYPES = ('PlateRecogMetric', 'dld.PlateRecogMetric')


def plate_metric_case_sensitive(cfg) -> bool:
    """Whether the config's plate metric compares case (the report's "correct" must agree).

    ``test_evaluator`` may be one metric, a list of them, or MMEngine's
    ``dict(type='Evaluator', metrics=[...])``; a metric's ``type`` a name or
    the class. A config without one (an inference-only config, which
    :class:`~dld.apis.PlateRecognizer` reads) compares as the metric's
    default does: case-insensitively.
    """
    metric_cfgs = cfg.get('test_evaluator')
    if isinstance(metric_cfgs, dict) and 'metrics' in metric_cfgs:
        metric_cfgs = metric_cfgs['metrics']
    if metric_cfgs is None:
        metric_cfgs = []
    metric_cfgs = metric_cfgs if isinstance(metric_cfgs, (list, tuple)) else [metric_cfgs]
    plate = [m for m in metric_cfgs if isinstance(m, dict) and _type_name(m.get('type'))
             in PLATE_METRIC_TYPES]
    return bool(plate and plate[0].get('case_sensitive', False))


def _type_name(kind) -> str:
    return kind if isinstance(kind, str) else getattr(kind, '__name__', '')


def plate_read_right(pred: str, gt: str, case_sensitive: bool) -> bool:
    """A plate counts as read when the whole string matches, as the plate metric
    counts it; an unlabelled plate (empty ``gt``) never does."""
    if not gt:
        return False
    return pred == gt if case_sensitive else pred.upper() == gt.upper()
