"""When a reading counts as right: as the config's plate metric counts it."""


def plate_metric_case_sensitive(cfg) -> bool:
    """Whether the config's plate metric compares case (the report's "correct" must agree)."""
    metric_cfgs = cfg.test_evaluator
    metric_cfgs = metric_cfgs if isinstance(metric_cfgs, (list, tuple)) else [metric_cfgs]
    plate = [m for m in metric_cfgs if m.get('type') in ('PlateRecogMetric',
                                                         'dld.PlateRecogMetric')]
    return bool(plate and plate[0].get('case_sensitive', False))


def plate_read_right(pred: str, gt: str, case_sensitive: bool) -> bool:
    """A plate counts as read when the whole string matches, as the plate metric counts it."""
    return pred == gt if case_sensitive else pred.upper() == gt.upper()
