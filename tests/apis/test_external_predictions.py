"""Another method's predictions (a CSV) scored as DLD scores its own readings."""
import json
import os.path as osp

import pytest

from dld.apis.external_predictions import (
    add_external_rows,
    parse_point,
    read_predictions,
    score_predictions,
    summary_scores,
)
from dld.apis.reading_analysis import ReadingsError, compare


def _reference(tmp_path, labels=('ABC1234', 'ABC1234', 'XYZ9876', 'XYZ9876')):
    label_file = tmp_path / 'test.txt'
    recs = []
    for i, gt in enumerate(labels):
        path = str(tmp_path / f't{i // 2}' / f'lr-{i % 2}.png')
        recs.append(dict(input=path, path=path, text=gt, confidence=0.9, scale=1.0,
                         gflops=0.1, gflops_teacher=0.2, error=None, gt_text=gt,
                         track_id=f't{i // 2}', frame_idx=i % 2, read_right=True,
                         case_sensitive=False, annotation=f'{label_file}:{i // 2 + 1}'))
    return recs


def _csv(tmp_path, rows, header='image,text,gflops'):
    path = tmp_path / 'pred.csv'
    path.write_text('\n'.join([header] + rows) + '\n')
    return str(path)


def test_scored_as_the_metric_missing_images_counted(tmp_path):
    ref = _reference(tmp_path)
    # relative to the label file's folder; lower case is right (case folded),
    # a dash is not (the metric compares whole strings); t1/lr-1 has no row
    rows = read_predictions(_csv(tmp_path, ['t0/lr-0.png,abc1234,0.4',
                                            't0/lr-1.png,ABC-1234,0.4',
                                            't1/lr-0.png,XYZ9876,0.4']))
    found = score_predictions(rows, ref, 'pred.csv')
    recs = found['records']
    assert found['missing'] == 1 and len(recs) == 4
    assert [r['read_right'] for r in recs] == [True, False, True, False]
    assert recs[3]['error_type'] == 'MissingPrediction'
    s = summary_scores(recs)
    assert s['accuracy'] == 0.5 and s['num_images'] == 4 and s['failed'] == 1
    assert s['gflops'] == pytest.approx(0.4)
    # t0: a tie of two readings goes to the earliest frame's (right); t1: its one frame
    assert s['track_accuracy'] == 1.0
    # paired with the reference as analyze_readings pairs two files
    cmp = compare(recs, ref, 'ext', 'dld')
    assert (cmp['both'], cmp['only_a'], cmp['only_b']) == (2, 0, 2)


def test_case_sensitive_reference_is_kept(tmp_path):
    ref = [dict(r, case_sensitive=True) for r in _reference(tmp_path)]
    rows = read_predictions(_csv(tmp_path, ['t0/lr-0.png,abc1234,0.4']))
    recs = score_predictions(rows, ref, 'pred.csv')['records']
    assert recs[0]['read_right'] is False


def test_rows_of_other_images_and_twice_refused(tmp_path):
    ref = _reference(tmp_path)
    with pytest.raises(ReadingsError, match='name no image'):
        score_predictions(read_predictions(_csv(tmp_path, ['other/x.png,ABC1234,1'])),
                          ref, 'pred.csv')
    found = score_predictions(read_predictions(_csv(tmp_path, ['other/x.png,ABC1234,1'])),
                              ref, 'pred.csv', allow_extra=True)
    assert found['extra'] == 1 and found['missing'] == 4
    with pytest.raises(ReadingsError, match='has a prediction already'):
        score_predictions(read_predictions(_csv(tmp_path, ['t0/lr-0.png,A,1',
                                                           't0/lr-0.png,B,1'])),
                          ref, 'pred.csv')
    with pytest.raises(ReadingsError, match='names no image column'):
        read_predictions(_csv(tmp_path, ['x,y'], header='name,text'))
    with pytest.raises(ReadingsError, match='not a number'):
        read_predictions(_csv(tmp_path, ['t0/lr-0.png,A,lots']))


def test_flops_per_mac_and_constant_cost(tmp_path):
    ref = _reference(tmp_path)
    rows = read_predictions(_csv(tmp_path, ['t0/lr-0.png,ABC1234'], header='path,pred'))
    recs = score_predictions(rows, ref, 'p', gflops=0.8, flops_per_mac=2)['records']
    assert recs[0]['gflops'] == pytest.approx(0.4)


def test_parse_point():
    assert parse_point('CRNN (paper):93.1:0.41') == dict(name='CRNN (paper)', accuracy=0.931,
                                                          gflops=0.41)
    assert parse_point('a:b:50:-')['name'] == 'a:b'
    for bad in ('x:93', 'x:193:1', 'x:-:-', 'x:n:1', ':50:1'):
        with pytest.raises(ValueError):
            parse_point(bad)


def test_external_rows_in_the_report(tmp_path):
    from dld.apis.report_writing import markdown_report, plot_pareto
    ref = _reference(tmp_path)
    recs = score_predictions(read_predictions(_csv(tmp_path, ['t0/lr-0.png,ABC1234,0.4'])),
                             ref, 'pred.csv')['records']
    ext = tmp_path / 'ext.jsonl'
    ext.write_text(''.join(json.dumps(r) + '\n' for r in recs))
    report = dict(num_images=4, teacher_gflops=0.2, device='cpu', base_size=[48, 144],
                  per_scale=[], params=dict(teacher=1, student=1, selector=1),
                  selector_gflops=0.0, convention='c', notes=[],
                  inputs=dict(test_data_root=str(tmp_path), test_ann_file='test.txt'),
                  methods=[dict(method='dld_selector', name='DLD + selector', scale=None,
                                accuracy=1.0, char_accuracy=1.0, gflops=0.1,
                                gflops_saved_pct=50.0, params=1, images_per_s=1.0,
                                num_images=4)])
    add_external_rows(report, ['Paper:90:0.3'], [f'Other={ext}'])
    rows = {r['method']: r for r in report['methods']}
    assert rows['external:Other']['accuracy'] == 0.25
    assert rows['external:Paper']['gflops_saved_pct'] == pytest.approx(-50.0)
    assert 'Other (external)' in markdown_report(report)
    assert 'External rows' in report['notes'][-1]
    plot_pareto(report, str(tmp_path / 'p.png'))
    assert osp.getsize(tmp_path / 'p.png') > 0
    with pytest.raises(ValueError, match='labelled image'):
        add_external_rows(dict(report, num_images=5, methods=[]), [], [f'Other={ext}'])


def test_flops_accuracy_refuses_a_readings_file_before_evaluating(tmp_path, capsys):
    """Read after the whole evaluation, a missing file was found minutes late."""
    from repo_scripts import load_script
    tool = load_script('tools/flops_accuracy.py')
    out = ['--out', str(tmp_path / 'r')]
    for given, said in ((f'X={tmp_path / "nope.jsonl"}', f'cannot read {tmp_path / "nope.jsonl"}'),
                        ('X', "--external-readings 'X': give NAME=READINGS.jsonl")):
        with pytest.raises(SystemExit) as exit_:
            tool.parse_args(['c.py', 'w.pth', *out, '--external-readings', given])
        assert exit_.value.code == 2 and said in capsys.readouterr().err


def test_an_accuracy_given_as_a_fraction_is_noted(tmp_path, capsys):
    """--external NAME:0.931:0.4 meant 93.1 % and was drawn at 0.931 %."""
    from repo_scripts import load_script
    tool = load_script('tools/flops_accuracy.py')
    tool.parse_args(['c.py', 'w.pth', '--out', str(tmp_path / 'r'), '--external', 'P:0.931:0.4'])
    assert ("--external 'P:0.931:0.4': its accuracy is read as 0.931 %; ACC is a percentage "
            '(give 93.1, not the fraction 0.931, for 93.1 %)') in capsys.readouterr().err
    tool.parse_args(['c.py', 'w.pth', '--out', str(tmp_path / 'r'), '--external', 'P:93.1:0.4'])
    assert 'ACC is a percentage' not in capsys.readouterr().err


def test_flops_accuracy_checks_readings_of_another_count_before_evaluating(tmp_path, capsys,
                                                                            monkeypatch):
    """A readings file of another test set was refused after every row was read."""
    from types import SimpleNamespace

    from repo_scripts import load_script

    import dld.apis.flops_accuracy as flops_accuracy
    ref = _reference(tmp_path)
    ext = tmp_path / 'ext.jsonl'
    ext.write_text(''.join(json.dumps(r) + '\n' for r in ref))

    class Evaluator:  # the test set read (5 images), no row evaluated
        def __init__(self, *args, **kwargs):
            self.paths = dict(test_data_root=str(tmp_path), test_ann_file='test.txt')
            self.data = SimpleNamespace(num_images=5)

        def evaluate(self):
            raise AssertionError('evaluated')

    monkeypatch.setattr(flops_accuracy, 'FlopsAccuracyEvaluator', Evaluator)
    tool = load_script('tools/flops_accuracy.py')
    args = tool.parse_args(['c.py', 'w.pth', '--out', str(tmp_path / 'r'),
                            '--external-readings', f'Other={ext}'])
    assert tool._evaluate(args, None, 'cpu') is None
    assert (f'flops_accuracy.py: external rows: {ext} holds 4 labelled image(s), the report 5'
            in capsys.readouterr().err)
