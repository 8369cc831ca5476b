"""tools/analysis/analyze_readings.py: the tables of a file of readings, and two files compared."""
import json
import os.path as osp
import sys

import pytest
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from tiny_dld import make_tiny_run  # noqa: E402


def _tool():
    return load_script('tools/analysis/analyze_readings.py')


def _rec(path, text, gt=None, conf=0.9, scale=1.0, error=None, track='t1', **extra):
    rec = dict(input=path, path=path, text=None if error else text,
               confidence=None if error else conf, scale=None if error else scale,
               scales_read=None if error else [scale], gflops=None if error else 0.5 * scale,
               gflops_teacher=None if error else 1.0, track_id=track, frame_idx=0,
               error=error, error_type='ImageInputError' if error else None)
    if gt is not None:
        rec.update(gt_text=gt, read_right=error is None and text == gt)
    rec.update(extra)
    return rec


# Two labelled images right, two misread (one confidently), one failed, one unlabelled.
READINGS = [
    _rec('a.png', 'ABC1234', 'ABC1234', conf=0.95),
    _rec('b.png', 'XYZ9876', 'XYZ9876', conf=0.80, scale=0.6),
    _rec('c.png', 'QBC1234', 'OBC1234', conf=0.90, scale=0.6),
    _rec('d.png', 'KLM555', 'KLM5555', conf=0.30, track='t2'),
    _rec('e.png', None, 'EEE1111', error='cannot decode: not an image', track='t2'),
    _rec('f.png', 'NOLABEL', conf=0.5, track='t3'),
]


def _row(out: str, first: str) -> list:
    """The cells of the printed table row whose first cell is ``first``."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('|') and cells[0] == first:
            return cells
    raise AssertionError(f'no row {first!r} in:\n{out}')


def _write(path, records):
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return str(path)


def test_prints_every_table_of_one_file(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    assert _tool().main([path]) == 0
    out = capsys.readouterr().out
    for heading in ('## Summary', '## Accuracy per chosen scale', '## Misread images (2, most '
                    'confident first)', '## Failed to read (1)', '## Character errors',
                    '## Confidence as a reject rule'):
        assert heading in out
    assert _row(out, 'read right') == ['read right', '2/5 (40.0 %)']
    assert '1 unlabelled image(s) counted but left out of every accuracy' in out
    # The confident mistake comes first.
    assert out.index('QBC1234') < out.index('KLM555')
    assert _row(out, 'O') == ['O', 'Q', 'substitution', '1']
    assert 'deletion' in out
    assert 'ECE' in out and 'AUROC of confidence, right against wrong readings: ' in out
    assert '## Tracks' not in out  # no .tracks.jsonl beside it


def test_json_holds_the_figures_printed(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    assert _tool().main([path, '--json', str(tmp_path / 'out' / 'a.json')]) == 0
    figures = json.loads((tmp_path / 'out' / 'a.json').read_text())
    assert figures['file'] == path
    assert figures['summary']['accuracy'] == pytest.approx(2 / 5)
    assert [r['path'] for r in figures['misreads']] == ['c.png', 'd.png']
    assert figures['failures'][0]['error'] == 'cannot decode: not an image'
    assert {'risk_coverage', 'calibration', 'auroc', 'characters', 'scales'} <= set(figures)


def test_the_vis_list_holds_every_misread_path_most_confident_first(tmp_path):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    listed = tmp_path / 'misread.lst'
    assert _tool().main([path, '--vis-list', str(listed), '--top', '1']) == 0
    assert listed.read_text() == 'c.png\nd.png\n'  # --top limits the tables, not the list


def test_top_limits_the_printed_lists_and_says_how_many_more(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    assert _tool().main([path, '--top', '1']) == 0
    out = capsys.readouterr().out
    assert '... and 1 more misread images (--top 1; --json lists them all)' in out


def test_target_accuracy_picks_its_threshold(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    assert _tool().main([path, '--target-accuracy', '100']) == 0
    out = capsys.readouterr().out
    assert 'To reach 100.0 %: keep confidence >= 0.95' in out
    assert _row(out, '0.95 (target)') == ['0.95 (target)', '1', '20.0 %', '100.0 %']
    assert 'Judged on the 1 image(s) kept only: too few to rely on' in out


def test_a_target_accuracy_given_as_a_fraction_is_refused(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    with pytest.raises(SystemExit):
        _tool().main([path, '--target-accuracy', '0.99'])
    assert 'a percentage in (1, 100] (99 for 99 %), got 0.99' in capsys.readouterr().err


def test_all_right_says_there_are_no_misreads(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', [_rec('a.png', 'A1', 'A1'), _rec('b.png', 'B2', 'B2')])
    listed = tmp_path / 'misread.lst'
    assert _tool().main([path, '--vis-list', str(listed)]) == 0
    out = capsys.readouterr().out
    assert 'None: every labelled image read was read right.' in out
    assert 'No misread images, no character errors.' in out
    assert '- (it needs both right and wrong readings)' in out
    assert listed.read_text() == ''


def test_no_labelled_records_say_what_accuracy_needs(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', [_rec('a.png', 'A1'), _rec('b.png', 'B2', scale=0.6)])
    assert _tool().main([path]) == 0
    out = capsys.readouterr().out
    assert '- (no labelled images)' in out
    assert 'No labelled images: give infer.py a label file or track folders' in out
    assert '2 unlabelled image(s) counted' in out


def test_an_empty_file_says_it_holds_no_records(tmp_path, capsys):
    (tmp_path / 'r.jsonl').write_text('')
    assert _tool().main([str(tmp_path / 'r.jsonl')]) == 0
    assert capsys.readouterr().out.endswith('r.jsonl holds no records.\n')


def test_older_records_without_read_right_get_it_computed_and_say_so(tmp_path, capsys):
    old = [dict(r) for r in READINGS[:2]]
    old[0]['text'] = 'abc1234'  # the plate metric's default ignores case
    for r in old:
        del r['read_right']
    path = _write(tmp_path / 'r.jsonl', old)
    assert _tool().main([path]) == 0
    out = capsys.readouterr().out
    assert '2/2 (100.0 %)' in out
    assert '2 labelled record(s) lack read_right (infer.py output older than that key): ' \
        'computed here, case-insensitively' in out
    assert _tool().main([path, '--case-sensitive']) == 0
    assert '1/2 (50.0 %)' in capsys.readouterr().out


def test_a_line_that_is_not_json_exits_two_naming_file_and_line(tmp_path, capsys):
    path = tmp_path / 'r.jsonl'
    path.write_text(json.dumps(READINGS[0]) + '\nnot json\n')
    assert _tool().main([str(path)]) == 2
    assert f'analyze_readings.py: {path}:2: not JSON' in capsys.readouterr().err


def test_a_line_missing_keys_exits_two_naming_file_line_and_keys(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', [READINGS[0], dict(input='x.png', text='X')])
    assert _tool().main([path]) == 2
    assert f'{path}:2: missing key(s) path, confidence' in capsys.readouterr().err


def test_a_figure_that_is_not_a_number_exits_two_naming_file_and_line(tmp_path, capsys):
    """A hand-edited "gflops": "abc" was a TypeError traceback in a mean."""
    path = _write(tmp_path / 'r.jsonl', [READINGS[0], dict(READINGS[1], gflops='abc')])
    assert _tool().main([path]) == 2
    assert f"{path}:2: gflops is 'abc', not a number (or null)" in capsys.readouterr().err


def test_the_tracks_beside_the_file_are_read(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    _write(tmp_path / 'r.tracks.jsonl', [
        dict(track_id='t1', text='ABC1234', votes=1, num_frames=3, gt_text='XYZ9876',
             read_right=False, confidence=0.9),
        dict(track_id='t2', text='KLM555', votes=1, num_frames=2, gt_text='KLM5555',
             read_right=False, confidence=0.3)])
    assert _tool().main([path]) == 0
    out = capsys.readouterr().out
    assert _row(out, 'tracks read right') == ['tracks read right', '0/2 (0.0 %)']
    assert '1 voted wrong although a frame read the label' in out
    assert _row(out, 't1') == ['t1', 'XYZ9876', 'ABC1234', '1/3', '2/3', '0.900']


def test_tracks_may_be_given_by_name(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    tracks = _write(tmp_path / 'votes.jsonl', [dict(track_id='t2', text='KLM5555',
                                                    gt_text='KLM5555')])
    assert _tool().main([path, '--tracks', tracks]) == 0
    assert '1/1 labelled tracks read right by their vote' in capsys.readouterr().out
    assert _tool().main([path, '--tracks', str(tmp_path / 'none.jsonl')]) == 2


def _other():
    """READINGS read by another model: c.png right now, a.png wrong."""
    b = [dict(r) for r in READINGS]
    b[0].update(text='ABC1235', read_right=False, confidence=0.6)
    b[2].update(text='OBC1234', read_right=True)
    return b


@pytest.mark.parametrize('how', ['two files', '--compare'])
def test_two_files_are_compared(tmp_path, capsys, how):
    a = _write(tmp_path / 'a.jsonl', READINGS)
    b = _write(tmp_path / 'b.jsonl', _other()[::-1])  # the order does not matter
    argv = [a, b] if how == 'two files' else [a, '--compare', b]
    listed = tmp_path / 'diff.lst'
    assert _tool().main(argv + ['--vis-list', str(listed)]) == 0
    out = capsys.readouterr().out
    assert f'# Readings of A: {a} and B: {b}' in out
    assert [_row(out, k)[1] for k in ('both read right', 'only A', 'only B', 'neither')] == [
        '1', '1', '1', '2']
    assert 'Accuracy: A 40.0 %, B 40.0 %. McNemar (exact, two-sided, on the 2 images only ' \
        'one reads right): p = 1.' in out
    assert '## Only A reads (1, most confident mistake of B first)' in out
    assert listed.read_text() == 'a.png\nc.png\n'


def test_a_track_row_shows_where_only_one_file_has_track_votes(tmp_path, capsys):
    a = _write(tmp_path / 'a.jsonl', READINGS)
    b = _write(tmp_path / 'b.jsonl', _other())
    _write(tmp_path / 'a.tracks.jsonl', [dict(track_id='t1', text='ABC1234',
                                              gt_text='ABC1234', read_right=True)])
    assert _tool().main([a, b]) == 0
    assert _row(capsys.readouterr().out, 'tracks read right') == [
        'tracks read right', '1/1 (100.0 %)', '-']


def test_the_comparison_goes_to_json(tmp_path):
    a = _write(tmp_path / 'a.jsonl', READINGS)
    b = _write(tmp_path / 'b.jsonl', _other())
    assert _tool().main([a, b, '--json', str(tmp_path / 'c.json')]) == 0
    figures = json.loads((tmp_path / 'c.json').read_text())
    assert set(figures['files']) == {a, b}
    assert (figures['comparison']['only_a'], figures['comparison']['only_b']) == (1, 1)


def test_two_files_of_different_images_are_refused_naming_both(tmp_path, capsys):
    a = _write(tmp_path / 'a.jsonl', READINGS)
    b = _write(tmp_path / 'b.jsonl', READINGS[:3])
    assert _tool().main([a, b]) == 2
    assert f'{a} and {b} hold different images: 3 only in {a}' in capsys.readouterr().err


def test_two_files_that_label_differently_are_refused(tmp_path, capsys):
    other = [dict(r) for r in READINGS]
    other[1]['gt_text'] = 'XYZ0000'
    a, b = _write(tmp_path / 'a.jsonl', READINGS), _write(tmp_path / 'b.jsonl', other)
    assert _tool().main([a, b]) == 2
    assert (f"label 1 image(s) differently, first b.png: 'XYZ9876' in {a}, 'XYZ0000' in {b}"
            in capsys.readouterr().err)


def test_a_file_is_not_compared_with_itself(tmp_path, capsys):
    a = _write(tmp_path / 'a.jsonl', READINGS)
    assert _tool().main([a, a]) == 2
    assert 'compared with itself' in capsys.readouterr().err


@pytest.mark.parametrize('argv, says', [
    (['a.jsonl', 'b.jsonl', 'c.jsonl'], 'give one file of readings, or two'),
    (['a.jsonl', 'b.jsonl', '--compare', 'c.jsonl'], 'give one file of readings, or two'),
    (['a.jsonl', '--top', '0'], '--top must be >= 1'),
    (['a.jsonl', '--target-accuracy', '0'], '--target-accuracy is a percentage'),
    (['a.jsonl', '--target-accuracy', '101'], '--target-accuracy is a percentage'),
])
def test_bad_arguments_are_refused(capsys, argv, says):
    with pytest.raises(SystemExit) as info:
        _tool().main(argv)
    assert info.value.code == 2 and says in capsys.readouterr().err


def test_an_output_that_cannot_be_written_exits_two(tmp_path, capsys):
    path = _write(tmp_path / 'r.jsonl', READINGS)
    (tmp_path / 'folder').mkdir()
    assert _tool().main([path, '--json', str(tmp_path / 'folder')]) == 2
    assert 'cannot write' in capsys.readouterr().err


@pytest.mark.slow
def test_the_readings_of_infer_are_analysed(tmp_path_factory, tmp_path, capsys):
    """infer.py on the tiny run's label file, then the analysis of its records."""
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    out = tmp_path / 'r.jsonl'
    assert load_script('tools/infer.py').main([
        run['config'], run['student'], osp.join(run['data'], 'test.txt'), '--out', str(out),
        '--track', '--no-progress', '--device', 'cpu']) == 0
    capsys.readouterr()
    assert _tool().main([str(out), '--json', str(tmp_path / 'a.json')]) == 0
    printed = capsys.readouterr().out
    figures = json.loads((tmp_path / 'a.json').read_text())
    records = [json.loads(line) for line in out.read_text().splitlines()]
    right = sum(r['read_right'] for r in records)
    assert figures['summary']['read_right'] == right
    assert f"{right}/{len(records)}" in printed
    assert figures['tracks']['labelled'] == len({r['track_id'] for r in records})
    assert not figures['notes']  # today's records carry read_right


@pytest.mark.parametrize('flag', ['--json', '--vis-list'])
def test_an_output_named_as_an_input_is_refused(tmp_path, capsys, flag):
    """`--json r.jsonl` replaced the readings it was made from, silently."""
    path = _write(tmp_path / 'r.jsonl', READINGS)
    before = open(path).read()
    with pytest.raises(SystemExit):
        _tool().main([path, flag, path])
    assert f'{flag} {path} is an input ({path}): it would replace it' in capsys.readouterr().err
    assert open(path).read() == before
    # the track votes it reads beside the readings, not named: an input too
    votes = str(tmp_path / 'r.tracks.jsonl')
    with pytest.raises(SystemExit):
        _tool().main([path, flag, votes])
    assert f'{flag} {votes} is an input ({votes})' in capsys.readouterr().err
    # with --tracks for the first file, the second's own votes are read still
    other = _write(tmp_path / 'b.jsonl', READINGS)
    other_votes = str(tmp_path / 'b.tracks.jsonl')
    with pytest.raises(SystemExit):
        _tool().main([path, other, '--tracks', votes, flag, other_votes])
    assert f'{flag} {other_votes} is an input' in capsys.readouterr().err


def test_a_deleted_space_shows_in_the_confusions_quoted(tmp_path, capsys):
    """A space read as nothing was a row whose label cell looked empty."""
    path = _write(tmp_path / 'r.jsonl', [_rec('a.png', 'NEWYORK', 'NEW YORK')])
    assert _tool().main([path]) == 0
    assert _row(capsys.readouterr().out, "' '") == ["' '", '(none)', 'deletion', '1']
