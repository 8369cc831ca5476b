"""PlateRecogMetric: exact numbers on hand-made predictions."""
import pytest

from dld.evaluation import PlateRecogMetric
from dld.structures.plate_data_sample import PlateDataSample


def _sample(gt, pred=None, as_dict=True):
    s = PlateDataSample()
    s.gt_text = gt
    if pred is not None:
        s.pred_text = pred
    return s.to_dict() if as_dict else s


def _evaluate(pairs, **kwargs):
    metric = PlateRecogMetric(**kwargs)
    metric.process({}, [_sample(gt, pred) for gt, pred in pairs])
    return metric.evaluate(len(pairs))


def test_exact_match_char_accuracy_and_ned():
    pairs = [
        ('ABC123', 'ABC123'),  # right: 6/6 chars, NED 0
        ('ABC123', 'ABC124'),  # one substitution: 5/6 chars, 1-NED 5/6
        ('AB12', 'AB123'),     # one extra char: 4/5 chars, 1-NED 4/5
        ('XY12', 'Y12'),       # one missing char: shifted, 0/4 chars, 1-NED 3/4
    ]
    res = _evaluate(pairs)
    assert res['plate/accuracy'] == pytest.approx(1 / 4)
    assert res['plate/char_accuracy'] == pytest.approx((6 + 5 + 4 + 0) / (6 + 6 + 5 + 4))
    assert res['plate/one_minus_ned'] == pytest.approx((1 + 5 / 6 + 4 / 5 + 3 / 4) / 4)
    assert res['plate/num_samples'] == 4
    assert res['plate/num_correct'] == 1


def test_plate_accuracy_is_the_first_key_so_save_best_auto_picks_it():
    res = _evaluate([('A1', 'A1')])
    assert next(iter(res)) == 'plate/accuracy'


def test_missing_prediction_counts_as_empty_string():
    metric = PlateRecogMetric()
    metric.process({}, [_sample('AB', None)])
    res = metric.evaluate(1)
    assert res['plate/accuracy'] == 0
    assert res['plate/char_accuracy'] == 0
    assert res['plate/one_minus_ned'] == 0


def test_case_is_ignored_by_default_and_kept_when_asked():
    assert _evaluate([('ab1', 'AB1')])['plate/accuracy'] == 1
    assert _evaluate([('ab1', 'AB1')], case_sensitive=True)['plate/accuracy'] == 0


def test_prefix_is_configurable():
    res = _evaluate([('A1', 'A1')], prefix='lr')
    assert res['lr/accuracy'] == 1


def test_accepts_data_samples_as_well_as_dicts():
    metric = PlateRecogMetric()
    metric.process({}, [_sample('A1', 'A1', as_dict=False)])
    assert metric.evaluate(1)['plate/accuracy'] == 1


def test_missing_gt_text_names_the_field():
    metric = PlateRecogMetric()
    with pytest.raises(KeyError, match='gt_text'):
        metric.process({}, [dict(pred_text='A')])


def _levenshtein(a, b):
    """Edit distance by the textbook recurrence, to check the library against."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[:], i
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
    return row[-1]


def test_one_minus_ned_agrees_with_a_brute_force_edit_distance():
    import random
    rng = random.Random(0)
    pairs = [(''.join(rng.choice('AB1') for _ in range(rng.randint(0, 7))),
              ''.join(rng.choice('AB1') for _ in range(rng.randint(0, 7)))) for _ in range(300)]
    # an unlabelled pair (empty gt) is misread: 0
    expected = sum(0.0 if not g else
                   1 - _levenshtein(g, p) / max(len(g), len(p)) for g, p in pairs) / len(pairs)
    assert _evaluate(pairs)['plate/one_minus_ned'] == pytest.approx(expected)


def _tracked(gt, pred, track):
    s = PlateDataSample()
    s.gt_text, s.pred_text = gt, pred
    s.set_metainfo(dict(track_id=track))
    return s.to_dict()


def test_group_by_folder_reports_each_scenario_and_layout_after_the_overall_keys():
    samples = [_tracked('AAA1111', 'AAA1111', 'Scenario-A/Brazilian/track_00001'),
               _tracked('AAA1112', 'AAA1112', 'Scenario-A/Brazilian/track_00002'),
               _tracked('BBB1C11', 'BBB1C1l', 'Scenario-B/Mercosur/track_00003'),
               _tracked('BBB1C12', 'BBB1C12', 'Scenario-B/Mercosur/track_00004')]
    metric = PlateRecogMetric(group_by='folder')
    metric.process({}, samples)
    res = metric.evaluate(4)
    assert list(res)[0] == 'plate/accuracy'  # still the key save_best='auto' keeps
    assert res['plate/accuracy'] == pytest.approx(3 / 4)
    assert res['plate/accuracy/Scenario-A/Brazilian'] == pytest.approx(1.0)
    assert res['plate/accuracy/Scenario-B/Mercosur'] == pytest.approx(0.5)
    assert res['plate/num_samples/Scenario-B/Mercosur'] == 2


def test_one_group_adds_no_keys_and_other_groupings_are_refused():
    metric = PlateRecogMetric(group_by='folder')
    metric.process({}, [_tracked('AAA1111', 'AAA1111', 'track_00001')])
    assert not any('/accuracy/' in k for k in metric.evaluate(1))
    with pytest.raises(ValueError, match=r"group_by must be None or one of \('folder', 'set'\)"):
        PlateRecogMetric(group_by='layout')


def test_unlabelled_frames_are_scored_as_wrong_with_a_warning():
    """A blind set read with allow_empty_text would report 0 % as if it
    were a result; the count of unlabelled frames says it is not."""
    from unittest import mock
    with mock.patch('dld.evaluation.metrics.text_metric.print_log') as log:
        res = _evaluate([('', 'ABC123'), ('AB12', 'AB12'), ('', 'XY9')])
    assert res['plate/accuracy'] == pytest.approx(1 / 3)
    (call, ) = log.call_args_list
    assert '2 of 3 frames have no label' in call.args[0]
    with mock.patch('dld.evaluation.metrics.text_metric.print_log') as log:
        _evaluate([('AB12', 'AB12')])
    assert not log.called


def test_an_empty_reading_of_an_unlabelled_frame_is_not_right():
    """A model that reads nothing must not score 100 % on a blind set."""
    res = _evaluate([('', ''), ('', '')])
    assert res['plate/accuracy'] == 0 and res['plate/num_correct'] == 0
    assert res['plate/char_accuracy'] == 0 and res['plate/one_minus_ned'] == 0
    res = _evaluate([('', ''), ('AB', 'AB')])
    assert res['plate/accuracy'] == 0.5 and res['plate/one_minus_ned'] == 0.5
    assert res['plate/char_accuracy'] == pytest.approx(2 / 3)  # the blank counts as one
