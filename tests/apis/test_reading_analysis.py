"""What a file of infer.py readings says: counts, mistakes, confidence, two files compared."""
import json
import random

import editdistance
import pytest

from dld.apis.reading_analysis import (
    ReadingsError,
    accuracy_by_layout,
    accuracy_by_scale,
    align,
    analyse,
    auroc,
    calibration,
    character_errors,
    compare,
    fill_read_right,
    load_records,
    load_tracks,
    match_records,
    mcnemar_p,
    misreads,
    risk_coverage,
    summary,
    track_analysis,
)


def _rec(text, gt=None, conf=0.9, scale=1.0, path=None, error=None, track='t', **extra):
    """A record as infer.py writes it; ``read_right`` as the metric counts
    by default (case-insensitively) unless given."""
    rec = dict(input=path or f'{text or "x"}.png', path=path or f'{text or "x"}.png',
               text=None if error else text, confidence=None if error else conf,
               scale=None if error else scale, scales_read=None if error else [scale],
               gflops=None if error else 0.5 * scale, gflops_teacher=None if error else 1.0,
               track_id=track, frame_idx=0, error=error,
               error_type='ImageInputError' if error else None)
    if gt is not None:
        rec['gt_text'] = gt
        rec['read_right'] = error is None and text.upper() == gt.upper()
    rec.update(extra)
    return rec


def _failed(gt=None, path='broken.png'):
    return _rec(None, gt, path=path, error='cannot decode: not an image')


# -- counting -------------------------------------------------------------------

def test_a_failed_labelled_image_counts_as_wrong_and_an_unlabelled_one_is_left_out():
    recs = [_rec('ABC1234', 'ABC1234'), _rec('XYZ', 'XYZ9'), _failed('QQQ1111'),
            _rec('NOLABEL')]
    s = summary(recs)
    assert (s['images'], s['read'], s['failed'], s['labelled'], s['unlabelled']) == (4, 3, 1, 3, 1)
    assert (s['read_right'], s['failed_labelled']) == (1, 1)
    assert s['accuracy'] == pytest.approx(1 / 3)


def test_the_mean_cost_is_over_the_images_read_against_the_teacher():
    s = summary([_rec('A', scale=1.0), _rec('B', scale=0.5), _failed()])
    assert s['mean_gflops'] == pytest.approx(0.375)
    assert s['saved'] == pytest.approx(0.625)


def test_an_empty_file_has_no_accuracy_and_no_cost():
    s = summary([])
    assert s['images'] == 0 and s['accuracy'] is None and s['mean_gflops'] is None


def test_read_right_is_computed_case_insensitively_where_older_records_lack_it():
    old = [_rec('abc1234', 'ABC1234'), _rec('XYZ', 'XYZ9'), _failed('QQQ1111'), _rec('N')]
    for r in old:
        r.pop('read_right', None)
    filled, computed = fill_read_right(old)
    assert computed == 3
    assert [r.get('read_right') for r in filled] == [True, False, False, None]
    assert 'read_right' not in old[0]  # the records given are not changed
    assert fill_read_right(old, case_sensitive=True)[0][0]['read_right'] is False


def test_a_read_right_written_by_infer_is_kept():
    # A case-sensitive metric said 'abc' is not 'ABC': the record's word stands.
    rec = _rec('abc', 'ABC', read_right=False)
    filled, computed = fill_read_right([rec])
    assert computed == 0 and filled[0]['read_right'] is False


def test_accuracy_per_scale_lists_scales_largest_first_and_the_failed_last():
    recs = [_rec('A', 'A', scale=0.5, conf=0.4), _rec('B', 'X', scale=1.0, conf=0.8),
            _rec('C', 'C', scale=0.5, conf=0.6), _failed('D'), _rec('E', scale=0.5)]
    rows = accuracy_by_scale(recs)
    assert [r['scale'] for r in rows] == [1.0, 0.5, None]
    assert [r['count'] for r in rows] == [1, 3, 1]
    assert sum(r['share'] for r in rows) == pytest.approx(1)
    half = rows[1]
    assert (half['labelled'], half['accuracy']) == (2, 1.0)  # the unlabelled E left out
    assert half['mean_confidence'] == pytest.approx((0.4 + 0.6 + 0.9) / 3)
    assert rows[2]['accuracy'] == 0.0 and rows[2]['mean_confidence'] is None


# -- misreads -------------------------------------------------------------------

def test_misreads_are_sorted_most_confident_first():
    recs = [_rec('A1', 'AA', conf=0.2), _rec('B1', 'BB', conf=0.9), _rec('CC', 'CC', conf=1.0),
            _rec('D1', 'DD', conf=0.5)]
    assert [r['text'] for r in misreads(recs)] == ['B1', 'D1', 'A1']


def test_misreads_of_equal_confidence_keep_the_file_order():
    recs = [_rec('A1', 'AA', conf=0.5, path='first.png'), _rec('B1', 'BB', conf=0.7),
            _rec('C1', 'CC', conf=0.5, path='second.png')]
    assert [r['path'] for r in misreads(recs)] == ['B1.png', 'first.png', 'second.png']


def test_a_failed_image_is_not_a_misread_and_unlabelled_ones_are_not_either():
    assert misreads([_failed('ABC'), _rec('XYZ')]) == []


# -- character errors -----------------------------------------------------------

def test_alignment_pairs_each_substituted_character():
    assert align('ABCDEF', 'AXCDYF') == [('substitution', 'B', 'X', 2),
                                         ('substitution', 'E', 'Y', 5)]


def test_alignment_prefers_one_substitution_to_a_deletion_and_an_insertion():
    assert align('ABC', 'ABD') == [('substitution', 'C', 'D', 3)]


def test_alignment_names_deletions_and_insertions_with_their_label_position():
    assert align('ABCD', 'ACD') == [('deletion', 'B', '', 2)]
    assert align('ABC', 'AXBC') == [('insertion', '', 'X', 2)]
    assert align('ABC', 'ABCZ') == [('insertion', '', 'Z', 4)]  # after the end: len + 1
    assert align('', 'AB') == [('insertion', '', 'A', 1), ('insertion', '', 'B', 1)]
    assert align('AB', '') == [('deletion', 'A', '', 1), ('deletion', 'B', '', 2)]


def test_alignment_ignores_case_unless_asked_not_to():
    assert align('ABC', 'abD') == [('substitution', 'C', 'D', 3)]
    assert len(align('ABC', 'abD', case_sensitive=True)) == 3


def test_alignment_has_as_many_edits_as_the_edit_distance():
    rng = random.Random(0)
    for _ in range(300):
        gt = ''.join(rng.choice('AB12') for _ in range(rng.randint(0, 8)))
        text = ''.join(rng.choice('AB12') for _ in range(rng.randint(0, 8)))
        edits = align(gt, text, case_sensitive=True)
        assert len(edits) == editdistance.eval(gt, text), (gt, text)
        # Applying the edits to the label gives the reading.
        out, i = [], 0
        for kind, _, b, pos in edits:
            out.extend(gt[i:pos - 1])
            i = pos - 1
            if kind == 'substitution':
                out.append(b)
                i += 1
            elif kind == 'deletion':
                i += 1
            else:
                out.append(b)
        out.extend(gt[i:])
        assert ''.join(out) == text, (gt, text, edits)


def test_confusions_are_counted_most_frequent_first_with_insertions_and_deletions():
    recs = [_rec('QBC', 'OBC'), _rec('QXY', 'OXY'), _rec('AB', 'ABC'), _rec('AB1C', 'ABC'),
            _rec('ZZZ', 'ZZZ')]
    c = character_errors(recs)
    assert c['misreads'] == 4
    assert [(r['gt'], r['read'], r['kind'], r['count']) for r in c['confusions']] == [
        ('O', 'Q', 'substitution', 2), ('', '1', 'insertion', 1), ('C', '', 'deletion', 1)]
    assert c['edit_distances'] == {1: 4}


def test_errors_per_position_are_rated_over_the_labels_that_have_that_position():
    recs = [_rec('XBC', 'ABC'), _rec('ABCD', 'ABCD'), _rec('ABCDZ', 'ABCD')]
    rows = {r['position']: r for r in character_errors(recs)['positions']}
    assert list(rows) == [1, 2, 3, 4, 'end']
    assert (rows[1]['substitutions'], rows[1]['rate']) == (1, pytest.approx(1 / 3))
    assert rows[4]['errors'] == 0 and rows[4]['rate'] == 0.0  # two labels have a 4th char
    assert rows['end']['insertions'] == 1


def test_position_rate_counts_images_so_several_insertions_stay_within_one():
    # one label, read with three characters inserted before its first one
    rows = {r['position']: r for r in character_errors([_rec('XYZA', 'A')])['positions']}
    assert (rows[1]['insertions'], rows[1]['errors'], rows[1]['images']) == (3, 3, 1)
    assert rows[1]['rate'] == 1.0


def test_no_misreads_give_no_character_errors():
    c = character_errors([_rec('ABC', 'ABC'), _rec('X')])
    assert c['confusions'] == [] and c['edit_distances'] == {}
    assert all(r['errors'] == 0 for r in c['positions'])


# -- confidence -----------------------------------------------------------------

def _scored(pairs):
    """Labelled records of (confidence, right)."""
    return [_rec('R' if ok else 'W', 'R', conf=c, path=f'{i}.png')
            for i, (c, ok) in enumerate(pairs)]


def test_the_reject_rule_keeps_readings_at_or_above_the_threshold():
    recs = _scored([(0.95, True), (0.85, True), (0.55, False), (0.45, True), (0.15, False)])
    rows = {r['threshold']: r for r in risk_coverage(recs)['rows']}
    assert (rows[0.0]['kept'], rows[0.0]['accuracy']) == (5, pytest.approx(0.6))
    assert (rows[0.5]['kept'], rows[0.5]['coverage']) == (3, pytest.approx(0.6))
    assert rows[0.5]['accuracy'] == pytest.approx(2 / 3)
    assert rows[0.9]['kept'] == 1 and rows[0.9]['accuracy'] == 1.0


def test_a_failed_image_counts_as_confidence_zero_in_the_reject_rule():
    recs = _scored([(0.9, True)]) + [_failed('R')]
    rows = {r['threshold']: r for r in risk_coverage(recs)['rows']}
    assert (rows[0.0]['kept'], rows[0.0]['accuracy']) == (2, 0.5)  # keep all: the summary's
    assert (rows[0.1]['kept'], rows[0.1]['accuracy']) == (1, 1.0)


def test_the_target_threshold_is_the_lowest_that_reaches_the_accuracy():
    recs = _scored([(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.5, True),
                    (0.4, True), (0.3, False)])
    # kept >= 0.4: 5/6 right; >= 0.8: 2/2; >= 0.6: 3/4; >= 0.5: 4/5.
    target = risk_coverage(recs, target_accuracy=0.8)['target']
    assert target['threshold'] == 0.4 and target['accuracy'] == pytest.approx(5 / 6)
    assert risk_coverage(recs, target_accuracy=0.99)['target']['threshold'] == 0.8


def test_equal_confidences_are_kept_or_rejected_together():
    # 0.7 is shared by a right and a wrong reading: no threshold keeps one of them.
    recs = _scored([(0.9, True), (0.7, True), (0.7, False)])
    target = risk_coverage(recs, target_accuracy=0.9)['target']
    assert target['threshold'] == 0.9 and target['kept'] == 1
    assert [r['kept'] for r in risk_coverage(recs, thresholds=[0.7, 0.8])['rows']] == [3, 3, 1]


def test_no_target_threshold_when_the_most_confident_reading_is_wrong():
    recs = _scored([(0.9, False), (0.5, True)])
    assert risk_coverage(recs, target_accuracy=0.99)['target'] is None


def test_the_calibration_error_by_hand_and_an_over_confident_verdict():
    # bin 0.9-1.0: confidences 0.95, 0.95, one right -> |0.5 - 0.95|;
    # bin 0.1-0.2: 0.15, wrong -> |0 - 0.15|.
    cal = calibration(_scored([(0.95, True), (0.95, False), (0.15, False)]))
    assert cal['ece'] == pytest.approx(2 / 3 * 0.45 + 1 / 3 * 0.15)
    assert cal['verdict'] == 'over-confident' and cal['gap'] > 0
    assert [b['count'] for b in cal['bins']] == [0, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_a_model_right_more_often_than_it_says_is_under_confident():
    cal = calibration(_scored([(0.6, True), (0.6, True), (0.5, True)]))
    assert cal['verdict'] == 'under-confident'


def test_a_confidence_of_one_falls_in_the_last_bin():
    cal = calibration(_scored([(1.0, True)]))
    assert cal['bins'][-1]['count'] == 1 and cal['ece'] == 0.0


def test_calibration_leaves_out_the_failed_and_needs_labels():
    cal = calibration(_scored([(0.9, True)]) + [_failed('R')])
    assert cal['images'] == 1
    assert calibration([_rec('A')]) is None


def test_auroc_ranks_right_readings_above_wrong_ones_with_ties_as_half():
    assert auroc(_scored([(0.9, True), (0.8, True), (0.2, False)])) == 1.0
    assert auroc(_scored([(0.2, True), (0.9, False)])) == 0.0
    assert auroc(_scored([(0.5, True), (0.5, False)])) == 0.5
    # right 0.9, 0.5; wrong 0.5, 0.1: pairs 1 + 1 + 0.5 + 1 of 4.
    assert auroc(_scored([(0.9, True), (0.5, True), (0.5, False), (0.1, False)])) == 0.875


def test_auroc_needs_right_and_wrong_readings():
    assert auroc(_scored([(0.9, True), (0.1, True)])) is None
    assert auroc([]) is None


# -- two files ------------------------------------------------------------------

def test_the_mcnemar_p_value_by_hand():
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(1, 1) == 1.0
    assert mcnemar_p(5, 0) == pytest.approx(2 / 32)
    assert mcnemar_p(2, 10) == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert mcnemar_p(10, 2) == mcnemar_p(2, 10)


def test_two_files_are_compared_image_by_image():
    a = [_rec('AAA', 'AAA', path='1.png'), _rec('BBB', 'BBB', path='2.png'),
         _rec('CCX', 'CCC', path='3.png', conf=0.3), _rec('DDX', 'DDD', path='4.png'),
         _rec('UNL', path='5.png')]
    b = [_rec('AAA', 'AAA', path='1.png'), _rec('BBX', 'BBB', path='2.png', conf=0.7),
         _rec('CCC', 'CCC', path='3.png'), _rec('DDY', 'DDD', path='4.png'),
         _rec('UNL', path='5.png')]
    c = compare(a, b, 'a.jsonl', 'b.jsonl')
    assert (c['labelled'], c['both'], c['only_a'], c['only_b'], c['neither']) == (4, 1, 1, 1, 1)
    assert c['accuracy_a'] == c['accuracy_b'] == 0.5
    assert c['p_value'] == 1.0
    assert [r['path'] for r in c['only_a_reads']] == ['2.png']
    assert (c['only_a_reads'][0]['text_b'], c['only_a_reads'][0]['confidence_b']) == ('BBX', 0.7)
    assert [r['path'] for r in c['only_b_reads']] == ['3.png']


def test_a_comparison_of_tracks_gives_an_interval_over_tracks_not_frames():
    """McNemar over frames treats a plate's five frames as five samples."""
    a, b = [], []
    for t in range(6):
        for f in range(5):  # A reads tracks 0-3 whole, B tracks 0-1 and 4
            path = f'{t}/{f}.png'
            a.append(_rec('AB1' if t < 4 else 'XXX', 'AB1', path=path, track=f't{t}'))
            b.append(_rec('AB1' if t in (0, 1, 4) else 'XXX', 'AB1', path=path, track=f't{t}'))
    by_track = compare(a, b, 'a', 'b')['by_track']
    assert by_track['difference'] == pytest.approx(1 / 6) and by_track['groups'] == 6
    assert by_track['low'] <= 0 < by_track['difference'] < by_track['high']
    # one frame a track, or one track: the images are the samples, no interval
    single = [dict(r, track_id=r['path']) for r in a]
    assert compare(single, [dict(r, track_id=r['path']) for r in b], 'a', 'b')['by_track'] \
        is None
    assert compare(a[:5], b[:5], 'a', 'b')['by_track'] is None


def test_records_are_matched_by_path_whatever_their_order():
    a = [_rec('A', 'A', path='1.png'), _rec('B', 'B', path='2.png')]
    pairs = match_records(a, a[::-1], 'a', 'b')
    assert all(x['path'] == y['path'] for x, y in pairs)


def test_arrays_are_matched_by_their_input():
    a = [_rec('A', 'A', path=None, input='array[0]'), _rec('B', 'B', path=None, input='array[1]')]
    a[0]['path'] = a[1]['path'] = None
    pairs = match_records(a, a[::-1], 'a', 'b')
    assert [x['input'] for x, _ in pairs] == [y['input'] for _, y in pairs]


def test_an_image_read_twice_pairs_in_order():
    a = [_rec('A', 'A', path='1.png'), _rec('X', 'A', path='1.png')]
    b = [_rec('Y', 'A', path='1.png'), _rec('A', 'A', path='1.png')]
    c = compare(a, b, 'a', 'b')
    assert (c['only_a'], c['only_b']) == (1, 1)


def test_files_of_different_images_are_refused_naming_both():
    a = [_rec('A', 'A', path='1.png'), _rec('B', 'B', path='2.png')]
    b = [_rec('A', 'A', path='1.png'), _rec('C', 'C', path='3.png')]
    with pytest.raises(ReadingsError, match=r'a\.jsonl and b\.jsonl hold different images: '
                       r'1 only in a\.jsonl \(first: 2\.png\); 1 only in b\.jsonl'):
        compare(a, b, 'a.jsonl', 'b.jsonl')
    with pytest.raises(ReadingsError, match='1 only in a.jsonl'):
        compare(a, a[:1], 'a.jsonl', 'b.jsonl')


def test_files_that_label_an_image_differently_are_refused():
    a = [_rec('A', 'ABC', path='1.png')]
    b = [_rec('A', 'ABD', path='1.png')]
    with pytest.raises(ReadingsError, match="label 1 image.*1.png: 'ABC' in a.jsonl, 'ABD' in "
                       'b.jsonl'):
        compare(a, b, 'a.jsonl', 'b.jsonl')
    with pytest.raises(ReadingsError, match='differently'):
        compare(a, [_rec('A', path='1.png')], 'a.jsonl', 'b.jsonl')  # labelled against not


# -- tracks ---------------------------------------------------------------------

def test_tracks_whose_vote_is_wrong_though_a_frame_read_the_label_are_listed():
    recs = [_rec('AAA', 'AAA', track='t1'), _rec('AAX', 'AAA', track='t1'),
            _rec('AAX', 'AAA', track='t1'), _rec('BBX', 'BBB', track='t2'),
            _rec('CCC', 'CCC', track='t3')]
    tracks = [dict(track_id='t1', text='AAX', votes=2, num_frames=3, gt_text='AAA',
                   read_right=False, confidence=0.4),
              dict(track_id='t2', text='BBX', votes=1, num_frames=1, gt_text='BBB',
                   read_right=False, confidence=0.3),
              dict(track_id='t3', text='CCC', votes=1, num_frames=1, gt_text='CCC',
                   read_right=True, confidence=0.9)]
    t = track_analysis(recs, tracks)
    assert (t['labelled'], t['read_right']) == (3, 1)
    assert [(x['track_id'], x['frames_right']) for x in t['wrong_but_read']] == [('t1', 1)]
    assert t['without_records'] == 0
    # the challenge's tie-breaker: mean confidence of right votes minus wrong ones
    assert t['confidence_right'] == pytest.approx(0.9)
    assert t['confidence_wrong'] == pytest.approx(0.35)
    assert t['confidence_gap'] == pytest.approx(0.55)


def test_a_track_vote_lacking_read_right_gets_it_and_a_note():
    recs = [_rec('abc', 'ABC', track='t1')]
    tracks = [dict(track_id='t1', text='abc', gt_text='ABC'),
              dict(track_id='t9', text=None, gt_text='XYZ')]
    report = analyse(recs, tracks)
    assert report['tracks']['read_right'] == 1 and report['tracks']['labelled'] == 2
    assert any('track vote(s) lack read_right' in n for n in report['notes'])
    assert any('1 track(s) of the tracks file have no record' in n for n in report['notes'])


# -- one file whole ---------------------------------------------------------------

def test_analyse_notes_unlabelled_failed_and_computed_records():
    old = _rec('ABC', 'ABC')
    del old['read_right']
    report = analyse([old, _rec('X'), _failed('Y')])
    notes = ' '.join(report['notes'])
    assert '1 labelled record(s) lack read_right' in notes and 'case-insensitively' in notes
    assert '1 unlabelled image(s) counted but left out' in notes
    assert '1 labelled image(s) failed to read' in notes
    assert report['failures'][0]['error'] == 'cannot decode: not an image'


def test_analyse_without_labels_has_counts_but_no_accuracies():
    report = analyse([_rec('A', conf=0.3), _rec('B', conf=0.5, scale=0.5)])
    assert report['summary']['accuracy'] is None
    assert [r['accuracy'] for r in report['scales']] == [None, None]
    assert report['misreads'] == [] and report['calibration'] is None
    assert report['risk_coverage']['labelled'] == 0 and report['auroc'] is None


def test_analyse_of_no_records():
    report = analyse([], target_accuracy=0.99)
    assert report['summary']['images'] == 0 and report['scales'] == []
    assert report['risk_coverage']['target'] is None


# -- files ----------------------------------------------------------------------

def _write_lines(path, lines):
    path.write_text(''.join(f'{x}\n' for x in lines))
    return str(path)


def test_records_are_read_one_a_line_and_blank_lines_skipped(tmp_path):
    path = _write_lines(tmp_path / 'r.jsonl', [json.dumps(_rec('A', 'A')), '',
                                               json.dumps(_failed())])
    assert [r['text'] for r in load_records(path)] == ['A', None]


def test_an_empty_file_holds_no_records(tmp_path):
    (tmp_path / 'r.jsonl').write_text('')
    assert load_records(str(tmp_path / 'r.jsonl')) == []


def test_a_line_that_is_not_json_is_named_by_file_and_line(tmp_path):
    path = _write_lines(tmp_path / 'r.jsonl', [json.dumps(_rec('A')), '{"input": "a.png",'])
    with pytest.raises(ReadingsError, match=r'r\.jsonl:2: not JSON'):
        load_records(path)


def test_a_line_that_is_not_an_object_is_refused(tmp_path):
    path = _write_lines(tmp_path / 'r.jsonl', ['[1, 2]'])
    with pytest.raises(ReadingsError, match=r'r\.jsonl:1: a JSON list, not an object'):
        load_records(path)


def test_a_record_missing_keys_is_named_by_file_line_and_keys(tmp_path):
    rec = _rec('A')
    del rec['confidence'], rec['scale']
    path = _write_lines(tmp_path / 'r.jsonl', [json.dumps(_rec('B')), json.dumps(rec)])
    with pytest.raises(ReadingsError, match=r'r\.jsonl:2: missing key\(s\) confidence, scale'):
        load_records(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ReadingsError, match='cannot read .*nope.jsonl: No such file'):
        load_records(str(tmp_path / 'nope.jsonl'))


def test_track_votes_need_their_id_and_text(tmp_path):
    path = _write_lines(tmp_path / 'r.tracks.jsonl', [json.dumps(dict(track_id='t'))])
    with pytest.raises(ReadingsError, match=r'r\.tracks\.jsonl:1: missing key\(s\) text'):
        load_tracks(path)


def test_accuracy_per_layout_tells_misreads_a_layout_rule_could_catch_from_valid_plates():
    records = [
        _rec('ABC1234', 'ABC1234', path='a.png'),  # brazilian, right
        _rec('ABC12Z4', 'ABC1234', path='b.png'),  # brazilian label, read fits no layout
        _rec('ABD1234', 'ABC1234', path='c.png'),  # brazilian label, read a valid plate
        _rec('ABC1D23', 'ABC1D23', path='d.png'),  # mercosur, right
        _rec('AB12', 'AB12', path='e.png'),  # neither layout
        _failed('ABC1D23', path='f.png'),  # failed: not right, not a misread
        _rec('XYZ9876', path='g.png'),  # unlabelled: left out
    ]
    rows = {r['layout']: r for r in accuracy_by_layout(records)}
    assert list(rows) == ['brazilian', 'mercosur', 'other']
    assert rows['brazilian'] == dict(layout='brazilian', labelled=3, accuracy=1 / 3, failed=0,
                                     misreads=2, misreads_fitting_no_layout=1)
    # the image not read is counted as such (its accuracy fell with no misread)
    assert rows['mercosur'] == dict(layout='mercosur', labelled=2, accuracy=0.5, failed=1,
                                    misreads=0, misreads_fitting_no_layout=0)
    assert rows['other']['labelled'] == 1 and rows['other']['accuracy'] == 1
    assert accuracy_by_layout([_rec('ABC1234', path='u.png')]) == []
    # words: no label fits a plate layout, so no table (every misread was
    # one 'a layout rule could catch')
    assert accuracy_by_layout([_rec('ocean', 'ocean', path='w.png'),
                               _rec('rivr', 'river', path='x.png')]) == []


def test_a_pickle_is_told_apart_from_the_json_lines(tmp_path):
    import pickle
    path = tmp_path / 'preds.pkl'
    path.write_bytes(pickle.dumps([dict(pred_text='AB12')]))
    with pytest.raises(ReadingsError, match=r'is a pickle \(tools/test.py --dump\?\)'):
        load_records(str(path))


def test_case_only_misreads_of_a_case_sensitive_model_are_edits():
    # infer.py marked these wrong, as a case-sensitive word config scores them:
    # aligned with case folded they were misreads of 0 edits, 'H' -> 'h' in no table
    recs = [_rec('hello', 'Hello', read_right=False), _rec('Cot', 'Cat'),
            _rec('WOrld', 'World', read_right=False)]
    c = character_errors(recs)
    assert c['edit_distances'] == {1: 3}
    assert {(r['gt'], r['read']) for r in c['confusions']} == {('H', 'h'), ('a', 'o'),
                                                               ('o', 'O')}


def test_case_is_folded_where_the_records_were_scored_so():
    c = character_errors([_rec('hello', 'Hello'), _rec('Cot', 'Cat')])
    assert c['misreads'] == 1 and c['edit_distances'] == {1: 1}


def test_case_is_compared_where_the_records_say_it_was_scored_so():
    """infer.py records how it judged: a case-sensitive model's misread of
    another letter and another case ('abd' for 'AbC') shows no case-only
    misread, and was one edit where it is two."""
    recs = [_rec('abd', 'AbC', read_right=False, case_sensitive=True), _rec('Cat', 'Cat')]
    c = character_errors(recs)
    assert c['edit_distances'] == {2: 1}
    assert {(r['gt'], r['read']) for r in c['confusions']} == {('A', 'a'), ('C', 'd')}
    # scored without case: folded, as the record says
    c = character_errors([dict(r, case_sensitive=False) for r in recs])
    assert c['edit_distances'] == {1: 1}


def test_older_records_without_the_case_key_are_still_judged_by_their_misreads():
    recs = [_rec('hello', 'Hello', read_right=False), _rec('abd', 'AbC', read_right=False)]
    assert all('case_sensitive' not in r for r in recs)
    assert character_errors(recs)['edit_distances'] == {1: 1, 2: 1}


def test_one_folders_images_named_absolute_and_as_given_are_paired(tmp_path, monkeypatch):
    """Readings of a folder written before its images were named as the
    folder was given (absolute), or of the folder given another way
    ('./imgs'), hold the same images: compared, not refused as 'different
    images'."""
    import os
    for name in ('a.png', 'b.png'):
        (tmp_path / 'imgs').mkdir(exist_ok=True)
        (tmp_path / 'imgs' / name).write_bytes(b'')
    monkeypatch.chdir(tmp_path)
    old = [_rec('AB1', 'AB1', path=str(tmp_path / 'imgs' / n)) for n in ('a.png', 'b.png')]
    new = [_rec('AB2', 'AB1', path=os.path.join('imgs', n)) for n in ('a.png', 'b.png')]
    dotted = [_rec('AB1', 'AB1', path=os.path.join('.', 'imgs', n)) for n in ('a.png', 'b.png')]
    assert [(x['text'], y['text']) for x, y in match_records(old, new, 'old', 'new')] == [
        ('AB1', 'AB2')] * 2
    assert len(match_records(new, dotted, 'new', 'dotted')) == 2
    # files that are not there (read elsewhere) are still told apart by name
    gone = [_rec('AB1', 'AB1', path=os.path.join('elsewhere', n)) for n in ('a.png', 'b.png')]
    with pytest.raises(ReadingsError, match='hold different images'):
        match_records(new, gone, 'new', 'gone')
