"""TrackAccuracyMetric: majority vote over frames, ties by summed score."""
import pytest

from dld.evaluation import TrackAccuracyMetric
from dld.evaluation.metrics import vote_track
from dld.structures.plate_data_sample import PlateDataSample


def _frame(track, idx, gt, pred, score):
    s = PlateDataSample(metainfo=dict(track_id=track, frame_idx=idx))
    s.gt_text = gt
    s.pred_text = pred
    s.pred_score = score
    return s.to_dict()


def test_majority_vote_decides_each_track():
    frames = [
        # t1: 2 x right vs 1 x wrong (more confident) -> right
        _frame('t1', 0, 'AB12', 'AB12', 0.5),
        _frame('t1', 1, 'AB12', 'AB12', 0.5),
        _frame('t1', 2, 'AB12', 'A812', 0.99),
        # t2: 2 x wrong vs 1 x right -> wrong
        _frame('t2', 0, 'CD34', 'CD84', 0.4),
        _frame('t2', 1, 'CD34', 'CD34', 0.9),
        _frame('t2', 2, 'CD34', 'CD84', 0.4),
        # t3: a single frame, right
        _frame('t3', 0, 'EF56', 'EF56', 0.1),
    ]
    metric = TrackAccuracyMetric()
    metric.process({}, frames)
    res = metric.evaluate(len(frames))
    assert res == {
        'track/accuracy': pytest.approx(2 / 3),
        'track/num_tracks': 3,
        'track/num_correct': 2,
        'track/num_frames': 7,
        # a track's confidence: the mean score of the frames that voted for
        # its answer (t1 0.5 and t3 0.1 right, t2 0.4 wrong)
        'track/confidence_right': pytest.approx(0.3),
        'track/confidence_wrong': pytest.approx(0.4),
        'track/confidence_gap': pytest.approx(-0.1),
    }


def test_tie_goes_to_the_larger_summed_score():
    # 2 votes each; 'AB12' sums 0.3 + 0.4 = 0.7 < 'A812' sums 0.5 + 0.3 = 0.8
    frames = [(0, 'AB12', 0.3), (1, 'A812', 0.5), (2, 'AB12', 0.4), (3, 'A812', 0.3)]
    assert vote_track(frames) == 'A812'
    metric = TrackAccuracyMetric()
    metric.process({}, [_frame('t', i, 'AB12', p, s) for i, p, s in frames])
    assert metric.evaluate(4)['track/accuracy'] == 0


def test_tie_in_count_and_score_goes_to_the_earliest_frame():
    assert vote_track([(5, 'BBB', 0.5), (2, 'AAA', 0.5)]) == 'AAA'
    assert vote_track([(2, 'BBB', 0.5), (5, 'AAA', 0.5)]) == 'BBB'


def test_missing_track_id_is_an_error_naming_it():
    s = PlateDataSample()
    s.gt_text = 'A'
    s.pred_text = 'A'
    with pytest.raises(KeyError, match='track_id'):
        TrackAccuracyMetric().process({}, [s.to_dict()])


def test_a_tie_in_everything_goes_to_the_text_not_the_arrival_order():
    frames = [(0, 'BBB', 0.5), (0, 'AAA', 0.5)]
    assert vote_track(frames) == vote_track(frames[::-1]) == 'AAA'


def test_equal_score_sums_tie_whatever_order_they_are_added_in():
    # In frame order 0.1 + 0.2 + 0.3 > 0.3 + 0.2 + 0.1 by one float ulp.
    frames = [(0, 'BBB', 0.3), (1, 'BBB', 0.2), (2, 'BBB', 0.1),
              (3, 'AAA', 0.1), (4, 'AAA', 0.2), (5, 'AAA', 0.3)]
    assert vote_track(frames) == vote_track(frames[::-1]) == 'BBB'  # the earliest frame


def test_a_tied_ground_truth_does_not_depend_on_arrival_order():
    frames = [_frame('t', 0, 'AAA', 'AAA', 0.9), _frame('t', 1, 'BBB', 'AAA', 0.9)]
    for order in (frames, frames[::-1]):
        metric = TrackAccuracyMetric()
        metric.process({}, order)
        assert metric.evaluate(2)['track/accuracy'] == 1.0


def test_a_nan_score_does_not_make_the_vote_depend_on_arrival_order():
    """NaN compares with nothing: the text seen first won ({'A', 'B'} over
    the orders; a character vote gave three answers)."""
    import itertools
    frames = [(1, 'A', float('nan')), (0, 'B', 0.5), (2, 'C', 0.2)]
    for method in ('text', 'chars'):
        votes = {vote_track(order, method=method) for order in itertools.permutations(frames)}
        assert votes == {'B'}
    # inf and -inf count as 0 too (their fsum was a ValueError): 0.1 outweighs them
    frames = [(0, 'AB', float('inf')), (1, 'CB', float('-inf')), (2, 'CD', 0.1)]
    assert vote_track(frames, method='chars') == 'CD'


def test_non_finite_scores_give_finite_track_metrics():
    """The vote took them as 0, the track's confidence did not: inf and -inf
    stopped the metric with a ValueError, NaN reached the log (a review)."""
    import math
    metric = TrackAccuracyMetric()
    metric.process({}, [_frame('t', 0, 'AB', 'AB', float('inf')),
                        _frame('t', 1, 'AB', 'AB', float('-inf')),
                        _frame('u', 0, 'CD', 'XY', float('nan')),
                        _frame('u', 1, 'CD', 'XY', 0.5)])
    res = metric.evaluate(4)
    assert res['track/accuracy'] == 0.5
    assert all(math.isfinite(v) for v in res.values() if isinstance(v, float)), res


def test_a_labelled_frame_labels_its_track_before_an_unlabelled_one():
    metric = TrackAccuracyMetric()
    metric.process({}, [_frame('t', 0, '', 'ABC1234', 0.9),
                        _frame('t', 1, 'ABC1234', 'ABC1234', 0.9)])
    assert metric.evaluate(2)['track/accuracy'] == 1.0


def test_unlabelled_tracks_are_counted_in_a_warning():
    from unittest import mock
    metric = TrackAccuracyMetric()
    metric.process({}, [_frame('t1', 0, '', 'AB12', 0.5), _frame('t1', 1, '', 'AB12', 0.5),
                        _frame('t2', 0, 'CD34', 'CD34', 0.9)])
    with mock.patch('dld.evaluation.metrics.text_metric.print_log') as log:
        res = metric.evaluate(3)
    assert res['track/accuracy'] == pytest.approx(1 / 2)
    (call, ) = log.call_args_list
    assert '1 of 2 tracks have no label' in call.args[0]


def test_the_confidence_gap_leaves_out_a_side_with_no_track_and_unlabelled_tracks():
    frames = [_frame('t1', 0, 'AB12', 'AB12', 0.9), _frame('t1', 1, 'AB12', 'AB12', 0.7),
              _frame('t2', 0, '', 'CD34', 0.2)]  # unlabelled: neither right nor wrong
    metric = TrackAccuracyMetric()
    metric.process({}, frames)
    res = metric.evaluate(len(frames))
    assert res['track/confidence_right'] == pytest.approx(0.8)
    assert 'track/confidence_wrong' not in res and 'track/confidence_gap' not in res


def test_confidence_gap_of_readings():
    from dld.evaluation.metrics import confidence_gap
    assert confidence_gap([(True, 0.9), (False, 0.3), (True, 0.7), (False, 0.1)]) == {
        'confidence_right': pytest.approx(0.8), 'confidence_wrong': pytest.approx(0.2),
        'confidence_gap': pytest.approx(0.6)}
    assert confidence_gap([]) == {}


def test_an_unlabelled_track_read_as_empty_is_not_right():
    frames = [_frame('t1', 0, '', '', 0.9), _frame('t1', 1, '', '', 0.8),
              _frame('t2', 0, 'AB12', 'AB12', 0.7)]
    metric = TrackAccuracyMetric()
    metric.process({}, frames)
    res = metric.evaluate(len(frames))
    assert res['track/num_correct'] == 1 and res['track/accuracy'] == 0.5


def test_with_layouts_only_fitting_readings_vote():
    # 'ABC123' (3 frames) cannot be a Brazilian or Mercosur plate; 'ABC1234' can.
    frames = [(0, 'ABC123', 0.9), (1, 'ABC123', 0.9), (2, 'ABC123', 0.9), (3, 'ABC1234', 0.2)]
    assert vote_track(frames) == 'ABC123'
    assert vote_track(frames, ('brazilian', 'mercosur')) == 'ABC1234'
    # a pattern works as a name does; no fitting reading: every reading votes
    assert vote_track(frames, ('LLLNNNN',)) == 'ABC1234'
    assert vote_track(frames[:3], ('mercosur',)) == 'ABC123'


def test_the_metric_votes_with_its_layouts_and_refuses_an_unknown_one():
    frames = [_frame('t', i, 'ABC1D23', 'ABC1D2', 0.9) for i in range(3)]
    frames.append(_frame('t', 3, 'ABC1D23', 'ABC1D23', 0.3))
    scores = {}
    for layouts in (None, ('brazilian', 'mercosur')):
        metric = TrackAccuracyMetric(layouts=layouts)
        metric.process({}, frames)
        scores[layouts] = metric.evaluate(len(frames))['track/accuracy']
    assert scores == {None: 0.0, ('brazilian', 'mercosur'): 1.0}
    with pytest.raises(ValueError, match='brazillian'):
        TrackAccuracyMetric(layouts=['brazillian'])


def test_a_character_vote_reads_a_plate_no_frame_read_whole():
    # each reading is wrong at another position; whole readings tie 1:1:1
    frames = [(0, 'ABC1D24', 0.5), (1, 'ABX1D23', 0.6), (2, 'ABC1D93', 0.4)]
    assert vote_track(frames, method='chars') == 'ABC1D23'
    assert vote_track(frames) == 'ABX1D23'  # the largest score among equals
    # readings of another length do not vote; per position the larger
    # summed confidence wins, so one sure reading outweighs two unsure ones
    frames = [(0, 'ABC1234', 0.9), (1, 'ABD1234', 0.2), (2, 'ABD1234', 0.3), (3, 'AB', 0.99)]
    assert vote_track(frames, method='chars') == 'ABC1234'
    assert vote_track(frames, method='text') == 'ABD1234'
    with pytest.raises(ValueError, match="vote method must be one of"):
        vote_track(frames, method='mean')


def test_a_character_vote_does_not_depend_on_arrival_order():
    import itertools
    frames = [(0, 'ABC1D24', 0.5), (1, 'ABX1D23', 0.5), (2, 'ABC1D93', 0.5), (3, 'XYZ', 0.5)]
    assert {vote_track(list(p), method='chars') for p in itertools.permutations(frames)} == {
        'ABC1D23'}


def test_track_confidence_of_an_answer_no_frame_read():
    from dld.evaluation.metrics import track_confidence
    frames = [(0, 'ABC1D24', 0.5), (1, 'ABX1D23', 0.7), (2, 'AB', 0.9)]
    assert track_confidence(frames, 'ABX1D23') == pytest.approx(0.7)
    assert track_confidence(frames, 'ABC1D23') == pytest.approx((0.5 * 6 / 7 + 0.7 * 6 / 7) / 3)


def test_the_metric_votes_by_characters_when_asked():
    frames = [_frame('t', 0, 'ABC1D23', 'ABC1D24', 0.5), _frame('t', 1, 'ABC1D23', 'ABX1D23', 0.6),
              _frame('t', 2, 'ABC1D23', 'ABC1D93', 0.4)]
    accuracy = {}
    for vote in ('text', 'chars'):
        metric = TrackAccuracyMetric(vote=vote)
        metric.process({}, frames)
        accuracy[vote] = metric.evaluate(len(frames))['track/accuracy']
    assert accuracy == {'text': 0.0, 'chars': 1.0}
    with pytest.raises(ValueError, match='vote must be one of'):
        TrackAccuracyMetric(vote='chr')


def test_one_string_is_one_layout():
    frames = [(0, 'ABC12', 0.9), (1, 'ABC12', 0.9), (2, 'ABC1D23', 0.1)]
    assert vote_track(frames, 'LLLNLNN') == vote_track(frames, 'mercosur') == 'ABC1D23'
    metric = TrackAccuracyMetric(layouts='mercosur')
    assert metric.layouts == ('mercosur', )


def test_a_character_vote_does_not_mix_two_layouts():
    # characters of LLNN and NNLL readings would give ABCD, which fits neither
    frames = [(0, 'AB12', 0.5), (1, 'AB34', 0.3), (2, '56CD', 0.6)]
    answer = vote_track(frames, ('LLNN', 'NNLL'), method='chars')
    assert answer == 'AB12'  # the layout two readings fit, then their characters


def test_confidence_gap_reads_a_generator_once():
    from dld.evaluation.metrics import confidence_gap
    gap = confidence_gap((ok, c) for ok, c in [(True, 0.9), (False, 0.3)])
    assert gap['confidence_gap'] == pytest.approx(0.6)
