"""Several reports side by side: per method each run's figures, mean and spread."""
import csv
import json
import re

import pytest
from repo_scripts import load_script

from dld.apis.report_comparison import (
    ReportComparisonError,
    compare_reports,
    markdown_comparison,
    read_report,
    run_names,
)


def _report(acc_selector, gflops_selector, acc_at_1=0.5, teacher=True, images=100, **inputs):
    methods = ([dict(method='teacher_hr', name='Teacher on HR', scale=1.0, accuracy=0.9,
                     char_accuracy=0.95, track_accuracy=None, gflops=0.3)] if teacher else [])
    methods += [dict(method='dld@1', name='DLD student @1', scale=1.0, accuracy=acc_at_1,
                     char_accuracy=0.8, track_accuracy=0.6, gflops=0.3),
                dict(method='dld_selector', name='DLD + selector', scale=None,
                     accuracy=acc_selector, char_accuracy=0.7, track_accuracy=None,
                     gflops=gflops_selector)]
    return dict(methods=methods, num_images=images,
                inputs=dict(dict(test_data_root='data', test_ann_file='test.txt'), **inputs))


def test_each_method_gets_every_runs_figures_their_mean_and_sample_std():
    c = compare_reports([_report(0.6, 0.10), _report(0.7, 0.12), _report(0.8, 0.14)],
                        ['seed1', 'seed2', 'seed3'])
    sel = {m['method']: m for m in c['methods']}['dld_selector']
    assert sel['accuracy']['values'] == [0.6, 0.7, 0.8]
    assert sel['accuracy']['mean'] == pytest.approx(0.7)
    assert sel['accuracy']['std'] == pytest.approx(0.1)  # sample std (n - 1)
    assert sel['gflops']['mean'] == pytest.approx(0.12)
    assert sel['track_accuracy']['mean'] is None  # a figure the runs lack
    # the long table: one row per run and method
    assert len(c['rows']) == 3 * 3 and {r['run'] for r in c['rows']} == {'seed1', 'seed2',
                                                                          'seed3'}
    assert c['notes'] == [] and c['left_out'] == []
    md = markdown_comparison(c)
    assert '| DLD + selector' in md and '70.00 ± 10.00' in md and '0.1200 ± 0.0200' in md
    # an ASCII console printed '±' as '\\xb1', four characters where the table had one
    ascii_md = markdown_comparison(c, plus_minus='+/-')
    assert '70.00 +/- 10.00' in ascii_md and ascii_md.isascii()
    for table in ascii_md.split('\n\n'):  # each table's rows line up
        assert len({len(line) for line in table.splitlines() if line.startswith('|')}) <= 1


def test_a_sweep_s_gflops_are_shown_per_run_where_they_differ():
    """A gamma sweep's selector row read 0.1335 ± 0.1339 GFLOPs, the one
    figure the sweep moves, each run's only in the CSV (an efficiency
    journey)."""
    md = markdown_comparison(compare_reports(
        [_report(0.6, 0.2881), _report(0.6, 0.0547), _report(0.6, 0.0579)],
        ['gamma0', 'gamma0.3', 'gamma3']))
    per_run = md.split('## GFLOPs per run, where they differ')[1]
    assert re.search(r'\| DLD \+ selector\s+\| 0\.2881\s+\| 0\.0547\s+\| 0\.0579', per_run)
    assert 'Teacher on HR' not in per_run and 'DLD student @1' not in per_run  # alike
    alike = markdown_comparison(compare_reports([_report(0.6, 0.1), _report(0.7, 0.1)],
                                                ['seed1', 'seed2']))
    assert 'GFLOPs per run' not in alike


def test_the_table_names_scales_and_the_metric_as_each_report_does(tmp_path, monkeypatch):
    """The selector's scale read '-' where report.md reads 'chosen', and the
    plot's axis said plate accuracy for a metric renamed 'word'."""
    from dld.apis import report_comparison
    renamed = [dict(_report(0.6, 0.1), metric_prefixes=dict(plate='word')) for _ in range(2)]
    c = compare_reports(renamed, ['seed1', 'seed2'])
    md = markdown_comparison(c)
    assert re.search(r'\| DLD \+ selector\s+\| chosen\s+\|', md)
    assert "Each run's word accuracy" in md
    labels = []
    monkeypatch.setattr('matplotlib.axes.Axes.set_ylabel',
                        lambda ax, label, *a, **k: labels.append(label))
    report_comparison.plot_comparison(c, str(tmp_path / 'compare.png'))
    assert labels == ['word accuracy (%)']
    mixed = compare_reports([renamed[0], _report(0.6, 0.1)], ['word', 'plate'])
    assert any('plate metric' in n for n in mixed['notes'])


def test_methods_some_report_lacks_are_left_out_and_differences_are_said():
    c = compare_reports([_report(0.6, 0.1), _report(0.7, 0.1, teacher=False, images=16,
                                                     max_batches=1, test_ann_file='val.txt')],
                        ['a', 'b'])
    assert [m['method'] for m in c['methods']] == ['dld@1', 'dld_selector']
    assert c['left_out'] == ['teacher_hr']
    assert c['notes'] == ['the reports differ in their test set: a test.txt, b val.txt',
                          'the reports differ in their number of test images: a 100, b 16',
                          'b: a quick look over the first test batches (--max-batches), not '
                          'the test set']
    md = markdown_comparison(c)  # said before the table whose means they put in doubt
    assert md.index('**Not alike:**') < md.index('| method')
    with pytest.raises(ReportComparisonError, match='no method in common'):
        compare_reports([_report(0.6, 0.1), dict(methods=[])], ['a', 'b'])


def test_test_sets_are_told_apart_by_their_root_where_every_report_holds_it_absolute():
    """Reports made before roots were recorded absolute said they differed."""
    old, new = _report(0.6, 0.1), _report(0.7, 0.1, test_data_root='/abs/data')
    assert compare_reports([old, new], ['a', 'b'])['notes'] == []
    other = _report(0.7, 0.1, test_data_root='/abs/other')
    assert compare_reports([new, other], ['b', 'c'])['notes'] == [
        'the reports differ in their test set: b /abs/data/test.txt, c /abs/other/test.txt']


def test_run_names_are_the_shortest_trailing_folders_that_tell_them_apart():
    assert run_names(['w/seed1/report_lr/report.json', 'w/seed2/report_lr']) == \
        ['seed1/report_lr', 'seed2/report_lr']
    assert run_names(['a/gamma0.1', 'a/gamma0.3/report.json']) == ['gamma0.1', 'gamma0.3']
    # files of one folder by their stems (they were numbered 1, 2)
    assert run_names(['jj/seed0.json', 'jj/seed1.json']) == ['seed0', 'seed1']


def test_a_report_in_the_working_folder_is_named_by_its_folder(tmp_path, monkeypatch):
    (tmp_path / 'gamma0.1').mkdir()
    monkeypatch.chdir(tmp_path / 'gamma0.1')
    assert run_names(['.', '../gamma0.3']) == ['gamma0.1', 'gamma0.3']  # '.' was '.'


def test_reports_of_other_scales_decoding_or_options_are_said_to_differ():
    """An oracle row restricted to other scales, or a beam decoding, was
    averaged with the others without a word."""
    base = dict(scales=[1.0, 0.6, 0.4], candidate_scales=[1.0, 0.6, 0.4],
                decoding=dict(student='greedy', teacher='greedy'), base_size=[48, 144],
                precision='float32')
    same = [dict(_report(0.6, 0.1), **base), dict(_report(0.7, 0.1), **base)]
    assert compare_reports(same, ['a', 'b'])['notes'] == []
    # a baseline's decoding is of a row one report has: no difference of the others
    with_baseline = dict(same[1], decoding=dict(base['decoding'], baseline='greedy'))
    assert compare_reports([same[0], with_baseline], ['a', 'b'])['notes'] == []
    other = dict(_report(0.7, 0.1, cfg_options={'model.test_cfg.decode': 'beam'}), **base)
    other['scales'] = [1.0, 0.5, 0.4]
    other['decoding'] = dict(student='beam search of width 4', teacher='greedy')
    notes = compare_reports([same[0], other], ['a', 'b'])['notes']
    assert notes == [
        'the reports differ in the scales they read (--scales): a [1.0, 0.6, 0.4], '
        'b [1.0, 0.5, 0.4]',
        "the reports differ in their decoding: a {'student': 'greedy', 'teacher': 'greedy'}, "
        "b {'student': 'beam search of width 4', 'teacher': 'greedy'}",
        "the reports differ in their --cfg-options: a {}, b {'model.test_cfg.decode': 'beam'}"]


def test_a_figure_that_is_not_a_number_is_named(tmp_path):
    report = _report(0.6, 0.1)
    report['methods'][1]['accuracy'] = 'high'
    (tmp_path / 'r.json').write_text(json.dumps(report))
    with pytest.raises(ReportComparisonError, match=r"r\.json: method 'dld@1': accuracy is "
                                                    r"'high', not a number \(or null\)"):
        read_report(str(tmp_path / 'r.json'))


def test_a_file_that_is_no_report_is_named(tmp_path):
    (tmp_path / 'x.json').write_text('{"rows": []}')
    with pytest.raises(ReportComparisonError, match=r'x\.json: no methods: not a report\.json'):
        read_report(str(tmp_path / 'x.json'))
    (tmp_path / 'y.json').write_text('{"methods": [{"name": "no method key"}]}')
    with pytest.raises(ReportComparisonError, match=r'y\.json: no methods'):
        read_report(str(tmp_path / 'y.json'))
    with pytest.raises(ReportComparisonError, match=r'gone[/\\]report\.json: No such file'):
        read_report(str(tmp_path / 'gone' / 'report.json'))


def test_the_tool_prints_the_table_and_writes_the_long_csv(tmp_path, capsys):
    for name, acc in (('seed1', 0.6), ('seed2', 0.8)):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'report.json').write_text(json.dumps(_report(acc, 0.1)))
    tool = load_script('tools/analysis/compare_reports.py')
    out = tmp_path / 'cmp'
    assert tool.main([str(tmp_path / 'seed1'), str(tmp_path / 'seed2'), '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert '| seed1 (%)' in printed and '70.00 ± 14.14' in printed
    with open(out / 'compare.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [(r['run'], r['method']) for r in rows[:3]] == [
        ('seed1', 'teacher_hr'), ('seed2', 'teacher_hr'), ('seed1', 'dld@1')]
    with open(out / 'compare.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert json.loads((out / 'compare.json').read_text())['runs'] == ['seed1', 'seed2']
    # a bad report: one line, status 2
    assert tool.main([str(tmp_path / 'seed1'), str(tmp_path / 'nope')]) == 2
    assert capsys.readouterr().err.startswith('compare_reports.py: ')
    with pytest.raises(SystemExit):
        tool.parse_args(['a', 'b', '--names', 'x'])
    with pytest.raises(SystemExit):  # one run counted twice in the mean and spread
        tool.parse_args([str(tmp_path / 'seed1'), str(tmp_path / 'seed1' / 'report.json')])


def test_a_change_of_flop_counter_is_said_where_the_same_model_s_figures_differ():
    """A report counted by fvcore's trace (DLD_FLOP_COUNTER=fvcore, or one made
    before the dispatch counter) beside one counted by ATen operator: the same
    figures on the shipped models, nothing said; a part of one's own that the
    two count otherwise (an nn.RMSNorm, 0 by fvcore) moved every row's GFLOPs,
    averaged without a word."""
    costs = dict(teacher_gflops=0.3, selector_gflops=0.0002,
                 per_scale=[dict(scale=1.0, student_gflops=0.3)])
    old = dict(_report(0.6, 0.1), convention='FLOPs are counted by fvcore at each input size '
               'actually read: ...', **costs)
    new = dict(_report(0.6, 0.1), flop_counter='dispatch', **costs)
    assert compare_reports([old, new], ['old', 'new'])['notes'] == []
    moved = dict(new, teacher_gflops=0.31)
    notes = compare_reports([old, moved], ['old', 'new'])['notes']
    assert len(notes) == 1 and notes[0].startswith(
        'their FLOPs were counted otherwise: old fvcore, new dispatch')
    # a counter unknown (a report of neither): nothing guessed
    unknown = dict(old, convention='')
    assert compare_reports([unknown, moved], ['old', 'new'])['notes'] == []


def test_a_report_of_an_unfinished_run_is_noted():
    stopped, done = _report(0.6, 0.1), _report(0.7, 0.1)
    stopped['training'] = dict(epoch=3, max_epochs=12, run_last_epoch=4, finished=False)
    done['training'] = dict(epoch=3, max_epochs=12, run_last_epoch=12, finished=True)
    c = compare_reports([stopped, done, _report(0.7, 0.1)], ['killed', 'done', 'older'])
    # a report older than the record read as finished beside them: unknown
    assert c['notes'] == ['killed (epoch 4 of 12): its training run had not finished when the '
                          'report was made (a run stopped, or still training)',
                          'older: whether its training run had finished is unknown (a report '
                          "older than that record, or of a checkpoint away from its run's "
                          'folder)']
    # where no report knows (every one older, or extracted students), nothing is said
    assert compare_reports([_report(0.6, 0.1), _report(0.7, 0.1)], ['a', 'b'])['notes'] == []
    away = dict(_report(0.7, 0.1), training=dict(epoch=3, max_epochs=None,
                                                 run_last_epoch=None, finished=None))
    assert compare_reports([done, away], ['done', 'away'])['notes'][0].startswith(
        'away: whether its training run had finished is unknown')


def _with_bits(report, rows, keys=None):
    """``report`` with a per_image block of 40 images in 20 tracks of 2."""
    from dld.evaluation.per_image import per_image_block
    keys = keys or [f'test/t{i // 2}/{i % 2}.png' for i in range(40)]
    report['per_image'] = per_image_block(keys, ['ABC1234'] * len(keys),
                                          [k.rsplit('/', 1)[0] for k in keys], rows, False)
    return report


def test_reports_of_the_same_images_are_paired_method_by_method_against_the_first():
    from dld.evaluation.paired_bootstrap import paired_difference
    first = '1' * 20 + '0' * 20
    second = '1' * 26 + '0' * 14  # reads 6 more: 3 tracks
    a = _with_bits(_report(0.5, 0.1, images=40), {'dld_selector': first, 'dld@1': first})
    b = _with_bits(_report(0.65, 0.1, images=40), {'dld_selector': second, 'dld@1': first})
    old = _report(0.5, 0.1, images=40)  # no per_image: an older report
    comparison = compare_reports([a, b, old], ['before', 'after', 'old'])
    rows = {(p['run'], p['method']): p for p in comparison['paired']}
    sel = rows['after', 'dld_selector']
    tracks = [f'test/t{i // 2}' for i in range(40)]
    direct = paired_difference([c == '1' for c in second], [c == '1' for c in first], tracks)
    assert sel['difference'] == pytest.approx(0.15)
    assert (sel['low'], sel['high']) == (direct['low'], direct['high'])
    assert sel['only_a'] == 6 and sel['only_b'] == 0 and sel['groups'] == 20
    assert rows['after', 'dld@1']['difference'] == 0
    assert [u for u in comparison['unpaired'] if u.startswith('old keeps no per-image')]
    md = markdown_comparison(comparison)
    assert '## Paired by image, each report against before' in md
    assert re.search(r'\| after +\| dld_selector +\| \+15\.00 +\| \[\+', md)


def test_a_first_report_without_per_image_results_is_said_once_with_pairs_given():
    # paired_across and paired_within each said it, in near-alike words
    old = _report(0.5, 0.1, images=40)
    new = _with_bits(_report(0.65, 0.1, images=40), {'dld_selector': '1' * 40, 'dld@1': '0' * 40})
    comparison = compare_reports([old, new], ['old', 'new'], pairs=[('dld_selector', 'dld@1')])
    assert [u for u in comparison['unpaired'] if u.startswith('old ')] == [
        'old keeps no per-image results (a report.json older than them, or hand-edited; rerun '
        'tools/flops_accuracy.py): nothing is paired with it']
    assert [p['run'] for p in comparison['pairs']] == ['new']


def test_reports_of_other_images_are_not_paired_and_say_why():
    keys = [f'val/t{i // 2}/{i % 2}.png' for i in range(40)]
    a = _with_bits(_report(0.5, 0.1, images=40), {'dld_selector': '1' * 40})
    b = _with_bits(_report(0.5, 0.1, images=40), {'dld_selector': '1' * 40}, keys)
    comparison = compare_reports([a, b], ['test', 'val'])
    assert comparison['paired'] == []
    [why] = comparison['unpaired']
    assert why.startswith('test and val are of other test images: 40 only in test (first: '
                          'test/t0/0.png); 40 only in val')


def test_two_rows_of_one_report_are_paired_with_pair(tmp_path, capsys):
    from dld.evaluation.paired_bootstrap import paired_difference
    selector = '1' * 30 + '0' * 10
    at_1 = '1' * 24 + '0' * 16
    rep = _with_bits(_report(0.75, 0.1, acc_at_1=0.6, images=40),
                     {'dld_selector': selector, 'dld@1': at_1})
    (tmp_path / 'r').mkdir()
    (tmp_path / 'r' / 'report.json').write_text(json.dumps(rep))
    tool = load_script('tools/analysis/compare_reports.py')
    assert tool.main([str(tmp_path / 'r'), '--pair', 'dld_selector', 'dld@1',
                      '--out', str(tmp_path / 'out')]) == 0
    out = capsys.readouterr().out
    tracks = [f'test/t{i // 2}' for i in range(40)]
    direct = paired_difference([c == '1' for c in selector], [c == '1' for c in at_1], tracks)
    assert f"[{100 * direct['low']:+.2f}, {100 * direct['high']:+.2f}]" in out
    assert '| r        | dld_selector | dld@1 | +15.00' in out
    [pair] = json.loads((tmp_path / 'out' / 'compare.json').read_text())['pairs']
    assert pair['difference'] == pytest.approx(0.15) and pair['method_b'] == 'dld@1'
    # a row no report has: refused, naming the rows there are
    assert tool.main([str(tmp_path / 'r'), '--pair', 'dld_selector', 'nokd@0.6']) == 2
    assert "no report has a row 'nokd@0.6'; the rows of r: teacher_hr, dld@1, " \
        'dld_selector' in capsys.readouterr().err


def test_reports_are_taken_by_path_and_a_bare_pair_is_refused_in_words(tmp_path):
    for i, acc in enumerate((0.5, 0.6)):
        (tmp_path / f'r{i}').mkdir()
        (tmp_path / f'r{i}' / 'report.json').write_text(json.dumps(_report(acc, 0.1)))
    by_path = compare_reports([tmp_path / 'r0', str(tmp_path / 'r1' / 'report.json')],
                              ['r0', 'r1'])
    assert by_path == compare_reports([_report(0.5, 0.1), _report(0.6, 0.1)], ['r0', 'r1'])
    for bare in (('dld_selector', 'dld@1'), ['dld_selector dld@1'], 'dld_selector'):
        with pytest.raises(ReportComparisonError, match=r'list of \(A, B\) method pairs'):
            compare_reports([_report(0.5, 0.1)], ['r0'], pairs=bare)
    assert compare_reports([_report(0.5, 0.1)], ['r0'],
                           pairs=[['dld_selector', 'dld@1']])['unpaired']  # no per-image block
