"""ReadingCostMetric: mean GFLOPs per image and the share of each scale."""
import pytest

from dld.evaluation import ReadingCostMetric
from dld.structures.plate_data_sample import PlateDataSample


def _sample(gflops=None, scale=None, choices=None):
    s = PlateDataSample()
    if gflops is not None:
        s.set_field(gflops, 'pred_gflops', field_type='data')
    if scale is not None:
        s.set_field(scale, 'pred_scale', field_type='data')
    if choices is not None:
        s.set_field(choices, 'scale_choices', field_type='data')
    return s.to_dict()


def test_mean_gflops_and_the_share_of_each_scale():
    metric = ReadingCostMetric()
    metric.process({}, [_sample(0.3, 1.0), _sample(0.1, 0.5), _sample(0.1, 0.5),
                        _sample(0.2, 0.8)])
    assert metric.evaluate(4) == {
        'cost/gflops': pytest.approx(0.7 / 4), 'cost/num_images': 4,
        'cost/mean_scale': pytest.approx((1.0 + 0.5 + 0.5 + 0.8) / 4),
        'cost/share_1': 0.25, 'cost/share_0.8': 0.25, 'cost/share_0.5': 0.5}


def test_every_scale_the_model_could_keep_has_a_share_zero_where_none_was_kept():
    """Only the scales read had a key: in the validation log (MMEngine keeps
    a key until it is logged again) an epoch without 0.8x showed the last
    epoch's share_0.8, the shares summing to 1.03."""
    metric = ReadingCostMetric()
    metric.process({}, [_sample(0.1, 0.5, [0.5, 0.8, 1.0]), _sample(0.3, 1.0, [0.5, 0.8, 1.0])])
    shares = {k: v for k, v in metric.evaluate(2).items() if 'share' in k}
    assert shares == {'cost/share_1': 0.5, 'cost/share_0.8': 0.0, 'cost/share_0.5': 0.5}


def test_a_model_that_sets_no_cost_reports_nothing():
    metric = ReadingCostMetric()
    metric.process({}, [_sample(), _sample()])
    assert metric.evaluate(2) == {}


def test_a_recognizer_s_validation_gets_no_empty_results_warning():
    from unittest import mock
    metric = ReadingCostMetric()
    metric.process({}, [_sample()])
    with mock.patch('mmengine.evaluator.metric.print_log') as log:
        assert metric.evaluate(1) == {}
    assert not log.called  # MMEngine's "got empty `self.results`"


def test_a_float32_scale_is_counted_as_the_scale_its_key_names():
    """Counted by the float, named by its '%g': 0.6000000238 (a float32's
    .item()) and 0.6 both wrote share_0.6, the last one's 0.0 winning."""
    metric = ReadingCostMetric()
    metric.process({}, [_sample(0.1, 0.6000000238418579, [0.6, 1.0]),
                        _sample(0.3, 1.0, [0.6, 1.0])])
    shares = {k: v for k, v in metric.evaluate(2).items() if 'share' in k}
    assert shares == {'cost/share_1': 0.5, 'cost/share_0.6': 0.5}


def test_the_keys_are_names_every_experiment_tracker_takes():
    """MLflow takes alphanumerics, '_', '-', '.', ' ', ':' and '/': share@1
    stopped a run logging to it at its first validation (a tracker journey)."""
    import re
    metric = ReadingCostMetric()
    metric.process({}, [_sample(0.1, 0.5, [0.5, 0.8, 1.0])])
    for key in metric.evaluate(1):
        assert re.fullmatch(r'[\w\-. :/]+', key), key


def test_group_by_set_gives_each_set_s_cost_as_the_accuracy_metrics_do():
    """Two sources evaluated at once: the selector may read one's plates at
    larger scales; ReadingCostMetric refused group_by (a TypeError)."""
    def of(set_name, gflops, scale):
        s = _sample(gflops, scale)
        s['set_name'] = set_name
        return s
    metric = ReadingCostMetric(group_by='set')
    metric.process({}, [of('day', 0.1, 0.5), of('day', 0.1, 0.5), of('night', 0.3, 1.0)])
    out = metric.evaluate(3)
    assert out['cost/gflops'] == pytest.approx(0.5 / 3)
    assert out['cost/gflops/day'] == pytest.approx(0.1)
    assert out['cost/gflops/night'] == pytest.approx(0.3)
    assert out['cost/num_images/day'] == 2 and out['cost/mean_scale/night'] == 1.0
    single = ReadingCostMetric(group_by='set')  # one set: no per-set keys, as the others
    single.process({}, [of('day', 0.1, 0.5)])
    assert not any('/day' in k for k in single.evaluate(1))
    with pytest.raises(ValueError, match='group_by must be'):
        ReadingCostMetric(group_by='sets')


def test_group_by_set_gives_each_set_s_share_of_each_scale():
    """Two cameras: whether one's small crops go to the cheap scales. Only the
    mean scale was given per set (0.75 is half at 1.0x and half at 0.5x, or
    every image at 0.75x)."""
    def of(set_name, gflops, scale):
        s = _sample(gflops, scale, [1.0, 0.8, 0.5])
        s['set_name'] = set_name
        return s
    metric = ReadingCostMetric(group_by='set')
    metric.process({}, [of('camA', 0.1, 0.5), of('camA', 0.1, 0.5), of('camB', 0.3, 1.0),
                        of('camB', 0.1, 0.5)])
    out = metric.evaluate(4)
    assert {k: v for k, v in out.items() if k.startswith('cost/share_')} == {
        'cost/share_1': 0.25, 'cost/share_0.8': 0.0, 'cost/share_0.5': 0.75,
        'cost/share_1/camA': 0.0, 'cost/share_0.8/camA': 0.0, 'cost/share_0.5/camA': 1.0,
        'cost/share_1/camB': 0.5, 'cost/share_0.8/camB': 0.0, 'cost/share_0.5/camB': 0.5}
    assert out['cost/mean_scale/camB'] == 0.75 and out['cost/num_images/camA'] == 2
