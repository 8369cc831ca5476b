"""tools/infer.py: records, drawings, and an exit status that fails only when all inputs do."""
import json
import os
import os.path as osp
import signal
import sys

import pytest
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from attention_dld import beam_flops_by_parts, make_attention_dld  # noqa: E402
from bad_inputs import make_bad_inputs  # noqa: E402
from tiny_dld import make_tiny_run  # noqa: E402


def _tool():
    return load_script('tools/infer.py')


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    return make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))


def _read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_writes_one_record_per_image_and_drawings(tiny_run, tmp_path, capsys):
    out = tmp_path / 'results.jsonl'
    rc = _tool().main([tiny_run['config'], tiny_run['student'],
                       osp.join(tiny_run['data'], 'test.txt'), '--out', str(out),
                       '--vis', str(tmp_path / 'vis'), '--track',
                       '--no-progress', '--device', 'cpu'])
    assert rc == 0
    recs = _read_jsonl(out)
    assert recs and all(r['error'] is None for r in recs)
    assert {'text', 'confidence', 'scale', 'input_size', 'gflops', 'gflops_saved'} <= set(recs[0])
    assert len(list((tmp_path / 'vis').glob('*.png'))) == len(recs)
    tracks = _read_jsonl(tmp_path / 'results.tracks.jsonl')
    assert {t['track_id'] for t in tracks} == {r['track_id'] for r in recs}
    # The label file's labels: the summary says how many were read right.
    right = sum(r['text'] == r['gt_text'] for r in recs)
    voted = sum(t['text'] == t['gt_text'] for t in tracks)
    assert (f'; {right}/{len(recs)} labelled images read right, {voted}/{len(tracks)} '
            'labelled tracks by their vote') in capsys.readouterr().err


def test_the_summary_counts_the_records_read_right():
    tool = _tool()
    recs = [dict(text='abc1234', gt_text='ABC1234', read_right=True, error=None),
            dict(text='XYZ', gt_text='XYZ9', read_right=False, error=None),
            dict(gt_text='XYZ9', read_right=False, error='cannot decode'),
            dict(text='Q', error=None)]
    tracks = [dict(text='abc1234', gt_text='ABC1234', read_right=True, confidence=0.9),
              dict(text=None, gt_text='XYZ9', read_right=False, confidence=None)]
    # The challenge's tie-breaker: a track with no answer has no confidence (0).
    assert tool._read_right(recs, tracks) == (
        '; 1/3 labelled images read right, 1/2 labelled tracks by their vote'
        ' (confidence gap 0.900: right 0.900, wrong 0.000)')
    assert tool._read_right(recs, tracks[:1]).endswith(
        '1/1 labelled tracks by their vote')  # no wrong track: no gap
    assert tool._read_right(recs[3:], []) == ''


def test_forced_scale_is_used_for_every_image(tiny_run, tmp_path, capsys):
    out = tmp_path / 'r.jsonl'
    assert _tool().main([tiny_run['config'], tiny_run['student'],
                         osp.join(tiny_run['data'], 'test'), '--scale', '0.6',
                         '--out', str(out), '--no-progress']) == 0
    assert {r['scale'] for r in _read_jsonl(out)} == {0.6}
    assert '% less than the teacher at full resolution' in capsys.readouterr().err


def test_summary_says_more_when_the_selector_tips_the_cost_over_the_teacher():
    relative_cost = _tool()._relative_cost
    assert relative_cost(0.0794, 0.3248) == '75.6% less than'
    assert relative_cost(0.32493, 0.32475) == '0.1% more than'  # 1.0x + the selector
    assert relative_cost(0.3248000001, 0.3248) == 'as much as'  # the teacher itself


def test_cfg_options_turn_on_the_reread_cascade(tiny_run, tmp_path):
    """min_score=1 rereads every image below 1.0 at 1.0 and pays for both reads."""
    out = tmp_path / 'r.jsonl'
    label_file = osp.join(tiny_run['data'], 'test.txt')
    assert _tool().main([tiny_run['config'], tiny_run['student'], label_file, '--out', str(out),
                         '--no-progress', '--cfg-options', 'model.test_cfg.reread.min_score=1.0',
                         'model.test_cfg.reread.scales=[1.0]']) == 0
    once = tmp_path / 'once.jsonl'
    assert _tool().main([tiny_run['config'], tiny_run['student'], label_file, '--out', str(once),
                         '--no-progress']) == 0
    reread, plain = _read_jsonl(out), _read_jsonl(once)
    assert {r['scale'] for r in reread} == {1.0}
    assert any(r['scales_read'] != [1.0] for r in reread)
    for a, b in zip(reread, plain):
        assert a['scales_read'][0] == b['scale'] and b['scales_read'] == [b['scale']]
        assert a['gflops'] >= b['gflops']


def test_some_bad_inputs_still_exit_zero(tiny_run, tmp_path):
    bad = make_bad_inputs(str(tmp_path / 'bad'))
    out = tmp_path / 'r.jsonl'
    rc = _tool().main([tiny_run['config'], tiny_run['student'], *bad.values(),
                       '--out', str(out), '--no-progress'])
    recs = _read_jsonl(out)
    assert rc == 0 and len(recs) == len(bad)
    assert any(r['error'] for r in recs) and any(r['error'] is None for r in recs)


def test_every_input_failing_exits_non_zero(tiny_run, tmp_path, capsys):
    bad = make_bad_inputs(str(tmp_path / 'bad'))
    failing = [bad[n] for n in ('empty.png', 'not_an_image.png', 'truncated.png',
                                'missing.png', 'folder.png')]
    rc = _tool().main([tiny_run['config'], tiny_run['student'], *failing, '--no-progress'])
    assert rc == 1
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(failing) and all('\tERROR\t' in line for line in printed)


def test_unloadable_checkpoint_exits_two(tiny_run, tmp_path):
    assert _tool().main([tiny_run['config'], str(tmp_path / 'nope.pth'), tiny_run['data']]) == 2


@pytest.mark.parametrize('flags, message', [
    (['--topk', '0'], '--topk must be from 1 to 64'),
    (['--topk', '-1'], '--topk must be from 1 to 64'),
    (['--beam-width', '0'], '--beam-width must be from 1 to 64'),
    (['--beam-width', '65'], '--beam-width must be from 1 to 64'),  # a traceback after loading
    (['--beam-width', '2', '--topk', '3'], '--beam-width >= 3'),
    (['--batch-size', '0'], '--batch-size must be >= 1'),
])
def test_bad_decoding_or_batch_flags_are_refused_before_the_model_loads(tmp_path, capsys,
                                                                        flags, message):
    """``--topk 0`` and ``--beam-width 0`` used to be ignored silently, and
    ``--topk -1`` failed only after the model had loaded."""
    with pytest.raises(SystemExit) as info:
        _tool().main([str(tmp_path / 'no_config.py'), str(tmp_path / 'no.pth'), 'x.png',
                      *flags])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_beam_width_one_and_topk_one_are_accepted():
    args = _tool().parse_args(['c.py', 'w.pth', 'x.png', '--beam-width', '1', '--topk', '1'])
    assert args.beam_width == 1 and args.topk == 1


def test_a_cuda_device_the_machine_lacks_exits_two(tmp_path, capsys, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    files = make_attention_dld(str(tmp_path))
    assert _tool().main([files['config'], files['checkpoint'], str(tmp_path), '--device',
                         'cuda', '--no-progress']) == 2
    assert 'no CUDA device here' in capsys.readouterr().err


def test_beam_width_is_counted_in_the_records_and_the_summary(tmp_path, capsys):
    import cv2
    import numpy as np

    from dld.apis.model_loading import init_model
    files = make_attention_dld(str(tmp_path / 'model'))
    cv2.imwrite(str(tmp_path / 'plate.png'), np.full((20, 60, 3), 128, np.uint8))
    out = tmp_path / 'r.jsonl'
    assert _tool().main([files['config'], files['checkpoint'], str(tmp_path / 'plate.png'),
                         '--scale', '0.6', '--beam-width', '3', '--out', str(out),
                         '--no-progress', '--device', 'cpu']) == 0
    student = init_model(files['config'], files['checkpoint'])[0].student
    rec, = _read_jsonl(out)
    expected = beam_flops_by_parts(student, 0.6, 3)
    assert rec['gflops'] * 1e9 == pytest.approx(expected, rel=1e-12)
    assert f'mean {expected / 1e6:.2f} MFLOPs per image' in capsys.readouterr().err


@pytest.mark.parametrize('flag,make,says', [
    ('--out', lambda p: p.mkdir(), 'is a folder; give a .jsonl file'),
    ('--vis', lambda p: p.write_text(''), 'is a file; give a folder'),
    ('--tracks-csv', lambda p: p.mkdir(), 'is a folder; give a .csv file'),
])
def test_outputs_that_cannot_be_written_are_refused_before_any_image_is_read(
        tmp_path, capsys, flag, make, says):
    target = tmp_path / 'target'
    make(target)
    # No model either: the outputs are checked first, not after the whole run.
    assert _tool().main(['missing.py', 'missing.pth', str(tmp_path), flag, str(target)]) == 2
    assert f'{flag} {target} {says}' in capsys.readouterr().err


def test_an_out_file_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / 'file').write_text('')
    out = tmp_path / 'file' / 'records.jsonl'
    assert _tool().main(['missing.py', 'missing.pth', str(tmp_path), '--out', str(out)]) == 2
    assert f'--out {out}: {tmp_path / "file"} is a file, not a folder' in \
        capsys.readouterr().err


@pytest.mark.parametrize('outputs, says', [
    # a label file given as --out became JSON records; an image too
    (['--out', '{labels}'], '--out {labels} is an input: writing it would replace what is read'),
    (['--out', '{image}'], '--out {image} is an image below the input folder {folder}: '
     'writing it would replace what is read'),
    (['--out', '{folder}/new.png'], '--out {folder}/new.png is an image below the input folder '
     '{folder}: a run over that folder would read it as a plate'),
    # the CSV replaced the records, and the summary named both
    (['--out', '{tmp}/same.out', '--tracks-csv', '{tmp}/same.out'],
     '--out and --tracks-csv name the same file, {tmp}/same.out: give each its own'),
    (['--out', '{tmp}/a.jsonl', '--tracks-csv', '{tmp}/a.tracks.jsonl'],
     "--out's track votes and --tracks-csv name the same file, {tmp}/a.tracks.jsonl"),
])
def test_outputs_that_would_replace_an_input_or_each_other_are_refused(tmp_path, capsys,
                                                                        outputs, says):
    folder = tmp_path / 'plates'
    folder.mkdir()
    (folder / 'a.png').write_bytes(b'image')
    labels = tmp_path / 'labels.txt'
    labels.write_text('plates/a.png\tABC\n')
    names = dict(labels=labels, image=folder / 'a.png', folder=folder, tmp=tmp_path)
    args = [a.format(**names) for a in outputs]
    assert _tool().main(['missing.py', 'missing.pth', str(labels), str(folder), *args]) == 2
    assert says.format(**names) in capsys.readouterr().err
    assert labels.read_text() == 'plates/a.png\tABC\n'  # nothing read or written
    assert (folder / 'a.png').read_bytes() == b'image'


@pytest.mark.parametrize('flag, given', [('--out', 'model.pth'), ('--tracks-csv', 'cfg.py'),
                                         ('--out', 'graph.onnx')])
def test_an_output_naming_the_checkpoint_the_config_or_another_file_is_refused(
        tmp_path, capsys, flag, given):
    """--out model.pth replaced the checkpoint being read with JSON records;
    --tracks-csv cfg.py the config with a CSV."""
    files = {name: tmp_path / name for name in ('cfg.py', 'model.pth', 'graph.onnx')}
    for name, path in files.items():
        path.write_text(name)
    (tmp_path / 'a.png').write_bytes(b'image')
    assert _tool().main([str(files['cfg.py']), str(files['model.pth']), str(tmp_path / 'a.png'),
                         flag, str(files[given])]) == 2
    err = capsys.readouterr().err
    kind = '.jsonl' if flag == '--out' else '.csv'
    says = (f'{flag} {files[given]} is an input' if given != 'graph.onnx' else
            f'{flag} {files[given]} is a file there, and no {kind} file: writing it would '
            f'replace it')
    assert says in err
    assert all(path.read_text() == name for name, path in files.items())


def test_track_votes_beside_out_that_cannot_be_written_are_refused_before_reading(
        tmp_path, capsys):
    """A folder in the way of x.tracks.jsonl was found after the whole run."""
    (tmp_path / 'r.tracks.jsonl').mkdir()
    assert _tool().main(['missing.py', 'missing.pth', str(tmp_path), '--out',
                         str(tmp_path / 'r.jsonl'), '--track']) == 2
    assert f"--out's track votes {tmp_path / 'r.tracks.jsonl'} is a folder" in \
        capsys.readouterr().err


def test_records_that_cannot_be_written_go_to_stdout(tiny_run, tmp_path, capsys, monkeypatch):
    tool = _tool()

    def disk_full(src, dst):
        raise OSError(28, 'No space left on device', dst)

    monkeypatch.setattr(tool.os, 'replace', disk_full)
    out = tmp_path / 'results.jsonl'
    assert tool.main([tiny_run['config'], tiny_run['student'],
                      osp.join(tiny_run['data'], 'test.txt'), '--out', str(out),
                      '--no-progress', '--device', 'cpu']) == 2
    captured = capsys.readouterr()
    assert f'cannot write {out}: No space left on device' in captured.err
    recs = [json.loads(line) for line in captured.out.splitlines()]
    assert recs and all(r['error'] is None and r['text'] is not None for r in recs)
    assert not out.exists() and not list(tmp_path.glob('results.jsonl.tmp*'))
    # the records read are kept in the partial file too, and said
    assert len(_read_jsonl(tmp_path / 'results.jsonl.partial')) == len(recs)
    assert f'the records read are also in {out}.partial' in captured.err


def _disk_full_for(monkeypatch, tool, suffix: str) -> None:
    """Writing a file whose name ends in ``suffix`` fails as on a full disk."""
    real_replace = tool.os.replace

    def disk_full(src, dst):
        if dst.endswith(suffix):
            raise OSError(28, 'No space left on device', src)
        real_replace(src, dst)

    monkeypatch.setattr(tool.os, 'replace', disk_full)


def _one_read():
    """``(records, tracks)``: one image read as ``ABC1234``, its track's vote."""
    records = [dict(input='a.png', path='a.png', text='ABC1234', gflops=1e-3,
                    gflops_teacher=2e-3, track_id='t', frame_idx=0, error=None)]
    tracks = [dict(track_id='t', text='ABC1234', votes=1, num_frames=1, confidence=0.9)]
    return records, tracks


def _reads(monkeypatch, records, tracks) -> list:
    """Stand in for PlateRecognizer: every call returns ``records`` and
    ``tracks``; returns the list the calls' keyword arguments go to."""
    import dld.apis
    calls = []

    class Reads:
        case_sensitive = False

        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, inputs, **kwargs):
            calls.append(kwargs)
            return dict(predictions=records, tracks=tracks, visualization=[], num_failed=0)

    monkeypatch.setattr(dld.apis, 'PlateRecognizer', Reads)
    monkeypatch.setattr(dld.apis, 'load_config', lambda *args: None)
    return calls



@pytest.mark.parametrize('uncounted', [set(), {'aten::lstm', 'mine::op'}])
def test_the_summary_says_its_flops_are_lower_bounds_where_ops_were_uncounted(
        tmp_path, capsys, monkeypatch, uncounted):
    """get_flops.py says under its table which ops were counted as 0; the
    summary's 'mean X MFLOPs per image, N% less than the teacher' did not."""
    import types

    import dld.apis
    tool = _tool()
    records, tracks = _one_read()
    _reads(monkeypatch, records, tracks)
    monkeypatch.setattr(dld.apis.PlateRecognizer, 'costs',
                        types.SimpleNamespace(uncounted_ops=uncounted), raising=False)
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', str(tmp_path / 'r.jsonl')]) == 0
    summary = capsys.readouterr().err.splitlines()[-1]
    assert 'MFLOPs per image' in summary
    said = ', both lower bounds: no FLOP count for aten::lstm, mine::op, which count as 0'
    assert (said in summary) == bool(uncounted), summary


def test_track_votes_that_cannot_be_written_are_named_and_only_they_go_to_stdout(
        tmp_path, capsys, monkeypatch):
    """The records file was written: the error names the tracks file, and
    stdout gets the votes only, not the records a second time."""
    tool = _tool()
    records, tracks = _one_read()
    _reads(monkeypatch, records, tracks)
    _disk_full_for(monkeypatch, tool, '.tracks.jsonl')
    out = tmp_path / 'results.jsonl'
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', str(out), '--track']) == 2
    captured = capsys.readouterr()
    assert _read_jsonl(out) == records
    assert (f'cannot write {tmp_path / "results.tracks.jsonl"}: No space left on device; the '
            'track votes follow on stdout') in captured.err
    assert [json.loads(line) for line in captured.out.splitlines()] == tracks
    assert not list(tmp_path.glob('results.tracks.jsonl.tmp*'))


def test_an_out_that_cannot_be_written_leaves_the_other_outputs_written(tmp_path, capsys,
                                                                         monkeypatch):
    """A full disk under --out left a --tracks-csv on another disk unwritten."""
    tool = _tool()
    records, tracks = _one_read()
    _reads(monkeypatch, records, tracks)
    _disk_full_for(monkeypatch, tool, 'results.jsonl')
    out, table = tmp_path / 'results.jsonl', tmp_path / 'votes.csv'
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', str(out), '--track',
                      '--tracks-csv', str(table)]) == 2
    captured = capsys.readouterr()
    assert table.read_text().splitlines()[1].startswith('t,ABC1234,')
    assert f'cannot write {out}: No space left on device; the records follow on stdout' \
        in captured.err
    # the .tracks.jsonl was written; the votes are not printed a second time
    assert [json.loads(line) for line in captured.out.splitlines()] == records


def test_tracks_csv_holds_the_track_votes_and_stdout_their_confidence(tiny_run, tmp_path, capsys):
    import csv
    label_file = osp.join(tiny_run['data'], 'test.txt')
    out = tmp_path / 'r.jsonl'
    table = tmp_path / 'sub' / 'tracks.csv'
    # --tracks-csv alone votes the tracks (it implies --track)
    assert _tool().main([tiny_run['config'], tiny_run['student'], label_file, '--out', str(out),
                         '--tracks-csv', str(table), '--no-progress']) == 0
    assert f"; track votes in {tmp_path / 'r.tracks.jsonl'} and {table}" in capsys.readouterr().err
    votes = _read_jsonl(tmp_path / 'r.tracks.jsonl')
    with open(table, newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['track_id', 'text', 'confidence']
    assert [(r[0], r[1]) for r in rows[1:]] == [(t['track_id'], t['text']) for t in votes]
    assert [float(r[2]) for r in rows[1:]] == pytest.approx([t['confidence'] for t in votes],
                                                           rel=1e-5)
    # Without --out, each track's line on stdout carries its confidence too.
    assert _tool().main([tiny_run['config'], tiny_run['student'], label_file, '--track',
                         '--no-progress']) == 0
    lines = [x.split('\t') for x in capsys.readouterr().out.splitlines()
             if x.startswith('track ')]
    assert [(x[0], x[1], float(x[2])) for x in lines] == [
        (f"track {t['track_id']}", t['text'], pytest.approx(t['confidence'], abs=1e-3))
        for t in votes]


def test_a_track_with_no_answer_has_an_empty_text_and_confidence_in_the_csv(tmp_path):
    tool = _tool()
    path = tmp_path / 't.csv'
    tool._write_tracks_csv(str(path), [
        dict(track_id='a,b', text='ABC1234', confidence=0.5),
        dict(track_id='c', text=None, confidence=None),
        dict(track_id='d', text='ABC1234', confidence=5.1342e-14)])  # a CTC model's, unsure
    assert path.read_text() == ('track_id,text,confidence\n"a,b",ABC1234,0.5\n'
                                'c,,\nd,ABC1234,5.1342e-14\n')


def test_a_tracks_csv_that_cannot_be_written_says_which_file_holds_the_votes(
        tmp_path, capsys, monkeypatch):
    tool = _tool()
    records, tracks = _one_read()
    _reads(monkeypatch, records, tracks)
    _disk_full_for(monkeypatch, tool, '.csv')
    out, table = tmp_path / 'r.jsonl', tmp_path / 't.csv'
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', str(out),
                      '--tracks-csv', str(table)]) == 2
    captured = capsys.readouterr()
    assert (f'cannot write {table}: No space left on device; the track votes are in '
            f'{tmp_path / "r.tracks.jsonl"}') in captured.err
    assert captured.out == ''  # every vote is in a file already
    # Without --out, the readings and the votes are printed first, so a
    # failed file loses neither and they are not printed twice.
    records[0].update(confidence=0.9, scale=1.0, input_size=[48, 144])
    assert tool.main(['c.py', 'w.pth', 'a.png', '--tracks-csv', str(table)]) == 2
    captured = capsys.readouterr()
    assert f'cannot write {table}: No space left on device; the track votes are in stdout' \
        in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith('a.png\tABC1234\t0.900') and lines[1:] == [
        'track t\tABC1234\t0.900\t1/1 votes']


def test_a_track_no_frame_of_which_was_read_prints_dashes(capsys, monkeypatch):
    """As the CSV leaves its text empty; it printed 'None', a plate's text."""
    tool = _tool()
    records = [dict(input='t.txt:1', path=None, text=None, track_id='t', frame_idx=0,
                    error='label line not read: more than one TAB in the line')]
    tracks = [dict(track_id='t', text=None, votes=0, num_frames=1, confidence=None)]
    _reads(monkeypatch, records, tracks)
    tool.main(['c.py', 'w.pth', 't.txt', '--track'])
    assert capsys.readouterr().out.splitlines()[-1] == 'track t\t-\t-\t0/1 votes'


def test_layouts_reach_the_vote_and_an_unknown_one_is_refused(tmp_path, capsys, monkeypatch):
    tool = _tool()
    calls = _reads(monkeypatch, [], [])
    for flags, layouts in ((['--track'], None), (['--layouts', 'mercosur', 'LLLNNNN'],
                                                ['mercosur', 'LLLNNNN']),
                           (['--layouts', 'none'], [])):
        tool.main(['c.py', 'w.pth', 'a.png'] + flags)
        assert calls[-1]['layouts'] == layouts  # None: the config's
        assert calls[-1]['vote'] is None
    tool.main(['c.py', 'w.pth', 'a.png', '--track', '--vote', 'chars'])
    assert calls[-1]['vote'] == 'chars'
    with pytest.raises(SystemExit):
        tool.main(['c.py', 'w.pth', 'a.png', '--track', '--layouts', 'brazillian'])
    assert "--layouts: Layout 'brazillian'" in capsys.readouterr().err


def test_the_vote_flags_ask_for_track_votes_and_offer_every_vote_method():
    from dld.evaluation.metrics import VOTE_METHODS
    tool = _tool()
    for flags in (['--vote', 'chars'], ['--layouts', 'mercosur'], ['--tracks-csv', 't.csv']):
        assert tool.parse_args(['c.py', 'w.pth', 'a.png'] + flags).track
    assert not tool.parse_args(['c.py', 'w.pth', 'a.png']).track
    for method in VOTE_METHODS:
        assert tool.parse_args(['c.py', 'w.pth', 'a.png', '--vote', method]).vote == method


def test_a_folder_of_many_crops_read_as_a_track_is_noted(tiny_run, tmp_path, capsys):
    """A folder of unrelated plates given with --track votes them into one
    text: more frames than one plate's are said, once."""
    import glob
    import shutil
    folder = tmp_path / 'crops'
    folder.mkdir()
    frames = sorted(glob.glob(osp.join(tiny_run['data'], 'test', '*', 'lr-*.png')))
    for i in range(11):
        shutil.copy(frames[i % len(frames)], folder / f'crop_{i:02d}.png')
    assert _tool().main([tiny_run['config'], tiny_run['student'], str(folder), '--track',
                         '--no-progress']) == 0
    err = capsys.readouterr().err
    assert ("note: 1 track(s) vote more than 10 images as one text, the largest 'crops' 11"
            in err)
    assert _tool().main([tiny_run['config'], tiny_run['student'],
                         osp.join(tiny_run['data'], 'test.txt'), '--track', '--no-progress']) == 0
    assert 'note:' not in capsys.readouterr().err  # a label file's tracks of a few frames


def test_runs_over_parts_of_one_tree_give_the_track_votes_of_one_run(tiny_run, tmp_path,
                                                                     capsys):
    """Sharded by camera, the runs named the tracks 'trk0000' twice where
    the run over both said 'cam00/trk0000', 'cam01/trk0000': with
    --track-root their CSVs join into the whole run's."""
    import csv
    import glob
    import shutil
    frames = sorted(glob.glob(osp.join(tiny_run['data'], 'test', '*', 'lr-*.png')))
    for i, track in enumerate(('cam00/trk0000', 'cam00/trk0001', 'cam01/trk0000')):
        (tmp_path / 'big' / track).mkdir(parents=True)
        for k in range(2):
            shutil.copy(frames[(2 * i + k) % len(frames)], tmp_path / 'big' / track / f'{k}.png')

    def rows(*inputs):
        table = tmp_path / 'tracks.csv'
        assert _tool().main([tiny_run['config'], tiny_run['student'],
                             *(str(tmp_path / 'big' / x) for x in inputs), '--tracks-csv',
                             str(table), '--track-root', str(tmp_path / 'big'),
                             '--no-progress']) == 0
        with open(table, newline='') as f:
            return list(csv.reader(f))[1:]
    whole = rows('.')
    assert [r[0] for r in whole] == ['cam00/trk0000', 'cam00/trk0001', 'cam01/trk0000']
    assert rows('cam00') + rows('cam01') == whole
    capsys.readouterr()
    with pytest.raises(SystemExit):  # before the model loads
        _tool().parse_args([tiny_run['config'], tiny_run['student'], str(tmp_path / 'big'),
                            '--track-root', str(tmp_path / 'big' / 'cam00')])
    assert 'is not below the track root' in capsys.readouterr().err


@pytest.mark.parametrize('stop, status, said', [('ctrl-c', 130, 'Ctrl-C'),
                                                ('sigterm', 143, 'SIGTERM')])
def test_a_stopped_run_writes_the_records_of_the_images_read(tiny_run, tmp_path, capsys,
                                                            monkeypatch, stop, status, said):
    """Ctrl-C lost every record read (they are written at the end) and
    printed a traceback; SIGTERM killed the run as it stood."""
    import os
    import signal

    from dld.apis import PlateRecognizer
    real, calls = PlateRecognizer.forward, []

    def forward(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # during the second batch
            if stop == 'sigterm':
                os.kill(os.getpid(), signal.SIGTERM)
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)
    monkeypatch.setattr(PlateRecognizer, 'forward', forward)
    out = tmp_path / 'records.jsonl'
    previous = signal.getsignal(signal.SIGTERM)
    rc = _tool().main([tiny_run['config'], tiny_run['student'],
                       osp.join(tiny_run['data'], 'test.txt'), '--out', str(out), '--track',
                       '--batch-size', '2', '--no-progress'])
    assert rc == status
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is put back
    records = _read_jsonl(out)
    assert len(records) == 2 and all(r['error'] is None for r in records)  # the first batch
    assert len(_read_jsonl(tmp_path / 'records.tracks.jsonl')) >= 1
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    assert f'infer.py: stopped by {said} after 2 of ' in err


class _Killed(BaseException):
    """Stands for a kill no handler sees (SIGKILL, the out-of-memory killer)."""


def test_a_run_killed_outright_keeps_the_records_read_in_out_partial(tiny_run, tmp_path,
                                                                    capsys, monkeypatch):
    """Every record lived in memory until the end: a SIGKILL lost the whole
    run (an inference-at-scale journey)."""
    from dld.apis import PlateRecognizer
    real, calls = PlateRecognizer.forward, []

    def forward(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # during the third batch
            raise _Killed
        return real(self, *args, **kwargs)
    monkeypatch.setattr(PlateRecognizer, 'forward', forward)
    out = tmp_path / 'records.jsonl'
    argv = [tiny_run['config'], tiny_run['student'], osp.join(tiny_run['data'], 'test.txt'),
            '--out', str(out), '--batch-size', '2', '--no-progress']
    with pytest.raises(_Killed):
        _tool().main(argv)
    assert not out.exists()
    kept = _read_jsonl(tmp_path / 'records.jsonl.partial')  # whole lines, the batches read
    assert len(kept) == 4 and all(r['error'] is None for r in kept)
    # the next run would write over them: refused until they are kept elsewhere
    assert _tool().main(argv) == 2
    said = capsys.readouterr().err
    assert 'records.jsonl.partial is there: the records of a run stopped outright' in said
    assert 'Go on from them with --resume' in said  # as inference.md says one may
    (tmp_path / 'records.jsonl.partial').rename(tmp_path / 'first_part.jsonl')
    (tmp_path / 'records.jsonl.partial').write_text('')  # stopped before a batch: nothing
    assert _tool()._unwritable_outputs(_tool().parse_args(argv)) == []
    assert not (tmp_path / 'records.jsonl.partial').exists()
    monkeypatch.setattr(PlateRecognizer, 'forward', real)
    assert _tool().main(argv) == 0
    assert len(_read_jsonl(out)) == 12 and not (tmp_path / 'records.jsonl.partial').exists()


@pytest.mark.parametrize('stop', ['killed', 'ctrl-c'])
def test_resume_reads_only_what_a_stopped_run_lacks_and_equals_an_unbroken_run(
        tiny_run, tmp_path, capsys, monkeypatch, stop):
    """There was no way to go on: the images left had to be listed and the
    files merged by hand, and a track cut by the stop was voted twice."""
    from dld.apis import PlateRecognizer
    argv = [tiny_run['config'], tiny_run['student'], osp.join(tiny_run['data'], 'test.txt'),
            '--batch-size', '2', '--no-progress', '--track']
    whole = tmp_path / 'whole.jsonl'
    assert _tool().main([*argv, '--out', str(whole)]) == 0
    real, calls = PlateRecognizer.forward, []

    def forward(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # during the third batch: 4 images read
            raise _Killed if stop == 'killed' else KeyboardInterrupt
        return real(self, *args, **kwargs)
    monkeypatch.setattr(PlateRecognizer, 'forward', forward)
    out = tmp_path / 'resumed.jsonl'
    if stop == 'killed':
        with pytest.raises(_Killed):
            _tool().main([*argv, '--out', str(out)])
        with open(f'{out}.partial', 'a') as f:  # a line the kill cut short
            f.write('{"input": "cut sh')
    else:
        assert _tool().main([*argv, '--out', str(out)]) == 130
    monkeypatch.setattr(PlateRecognizer, 'forward', real)
    read = []
    monkeypatch.setattr(PlateRecognizer, 'forward',
                        lambda self, prepared, **kw: (read.extend(prepared),
                                                      real(self, prepared, **kw))[1])
    capsys.readouterr()
    assert _tool().main([*argv, '--out', str(out), '--resume']) == 0
    assert len(read) == 12 - 4  # the 4 images read before the stop are not read again
    source = f'{out}.partial' if stop == 'killed' else str(out)
    assert f'infer.py: --resume: 4 record(s) kept from {source}' in capsys.readouterr().err
    keys = ('input', 'text', 'scale', 'track_id', 'frame_idx')
    assert [{k: r[k] for k in keys} for r in _read_jsonl(out)] == \
        [{k: r[k] for k in keys} for r in _read_jsonl(whole)]
    votes = ('track_id', 'text', 'num_frames')
    assert [{k: t[k] for k in votes} for t in _read_jsonl(tmp_path / 'resumed.tracks.jsonl')] \
        == [{k: t[k] for k in votes} for t in _read_jsonl(tmp_path / 'whole.tracks.jsonl')]
    assert not any('num_unread' in t for t in _read_jsonl(tmp_path / 'resumed.tracks.jsonl'))
    assert not (tmp_path / 'resumed.jsonl.partial').exists()


def test_a_track_a_stop_cut_short_is_marked_and_named(tiny_run, tmp_path, capsys,
                                                     monkeypatch):
    """A track cut by Ctrl-C was voted over its frames read, with nothing in
    its vote or the stop's message to tell it from a whole track's."""
    from dld.apis import PlateRecognizer
    argv = [tiny_run['config'], tiny_run['student'], osp.join(tiny_run['data'], 'test.txt'),
            '--no-progress', '--track', '--batch-size', '3']
    assert _tool().main([*argv, '--out', str(tmp_path / 'whole.jsonl')]) == 0
    whole = {t['track_id']: t for t in _read_jsonl(tmp_path / 'whole.tracks.jsonl')}
    assert not any('num_unread' in t for t in whole.values())
    real, calls = PlateRecognizer.forward, []

    def forward(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # 3 images read: the second track (2 frames each) cut
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)
    monkeypatch.setattr(PlateRecognizer, 'forward', forward)
    capsys.readouterr()
    assert _tool().main([*argv, '--out', str(tmp_path / 'cut.jsonl')]) == 130
    votes = _read_jsonl(tmp_path / 'cut.tracks.jsonl')
    cut = [t for t in votes if 'num_unread' in t]
    assert len(votes) == 2 and len(cut) == 1
    assert cut[0]['num_frames'] == 1 and cut[0]['num_unread'] == 1
    assert whole[cut[0]['track_id']]['num_frames'] == 2
    assert f"track {cut[0]['track_id']} was cut short: voted over its 1 frame(s) read, 1 " \
        'not read' in capsys.readouterr().err
    # resumed, and stopped again before any frame left of that track was read:
    # the merged vote keeps the mark (it was lost), and the counts are the whole run's
    calls.clear()
    monkeypatch.setattr(PlateRecognizer, 'forward', lambda self, *a, **k: (_ for _ in ()).throw(
        KeyboardInterrupt))
    assert _tool().main([*argv, '--out', str(tmp_path / 'cut.jsonl'), '--resume']) == 130
    again = {t['track_id']: t for t in _read_jsonl(tmp_path / 'cut.tracks.jsonl')}
    assert again[cut[0]['track_id']].get('num_unread') == 1
    err = capsys.readouterr().err
    assert f'stopped by Ctrl-C after 3 of {len(_read_jsonl(tmp_path / "whole.jsonl"))} ' \
        'image(s)' in err and f"track {cut[0]['track_id']} was cut short" in err


def test_resume_needs_an_out(capsys):
    with pytest.raises(SystemExit):
        _tool().parse_args(['c.py', 'w.pth', 'a.png', '--resume'])
    assert '--resume goes on with the run of a --out file' in capsys.readouterr().err


@pytest.mark.parametrize('drew_before', [True, False])
def test_resume_draws_what_a_stopped_run_lacks_as_an_unbroken_run_would(
        tiny_run, tmp_path, capsys, monkeypatch, drew_before):
    """--resume refused --vis: the drawings were numbered from 0 in each
    run, so a resumed run's would have taken the numbers of those drawn."""
    from dld.apis import PlateRecognizer
    argv = [tiny_run['config'], tiny_run['student'], osp.join(tiny_run['data'], 'test.txt'),
            '--batch-size', '3', '--no-progress']
    assert _tool().main([*argv, '--out', str(tmp_path / 'whole.jsonl'),
                         '--vis', str(tmp_path / 'whole')]) == 0
    real, calls = PlateRecognizer.forward, []

    def forward(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # during the third batch: 6 images read
            raise _Killed
        return real(self, *args, **kwargs)
    monkeypatch.setattr(PlateRecognizer, 'forward', forward)
    out, vis = tmp_path / 'resumed.jsonl', tmp_path / 'resumed'
    with pytest.raises(_Killed):
        _tool().main([*argv, '--out', str(out)] + (['--vis', str(vis)] if drew_before else []))
    monkeypatch.setattr(PlateRecognizer, 'forward', real)
    capsys.readouterr()
    assert _tool().main([*argv, '--out', str(out), '--resume', '--vis', str(vis)]) == 0
    said = capsys.readouterr().err
    whole = sorted(os.listdir(tmp_path / 'whole'))
    assert len(whole) == 12
    if drew_before:  # every drawing once, named as the unbroken run's
        assert sorted(os.listdir(vis)) == whole
        assert [osp.basename(r['vis_path']) for r in _read_jsonl(out)] == \
            [osp.basename(r['vis_path']) for r in _read_jsonl(tmp_path / 'whole.jsonl')]
        assert 'not drawn' not in said
    else:  # the images read before are not read again: said
        assert sorted(os.listdir(vis)) == whole[6:]
        assert 'infer.py: --resume: 6 image(s) read before are not drawn' in said


def test_resume_leaves_out_a_last_line_cut_short_and_refuses_other_files(tmp_path):
    tool = _tool()
    out = tmp_path / 'r.jsonl'
    (tmp_path / 'r.jsonl.partial').write_text('{"input": "a.png"}\n{"input": "b.p')
    assert tool.earlier_records(str(out)) == ([{'input': 'a.png'}], f'{out}.partial')
    (tmp_path / 'r.jsonl.partial').unlink()
    out.write_text('not json\n{"input": "a.png"}\n')
    with pytest.raises(ValueError, match=r'r\.jsonl:1: not a JSON record'):
        tool.earlier_records(str(out))
    # JSON of another kind: an AttributeError as the run went on (a maintainer's audit)
    out.write_text('{"input": "a.png"}\n[1]\n')
    with pytest.raises(ValueError, match=r"r\.jsonl:2: not a record of infer\.py"):
        tool.earlier_records(str(out))
    out.unlink()
    assert tool.earlier_records(str(out)) == ([], None)


def test_a_partial_file_that_fills_the_disk_leaves_the_run_reading_on(tmp_path, capsys,
                                                                      monkeypatch):
    """A full disk under OUT.partial ended the run in a traceback, the rest of
    its records lost (the review of the streaming change)."""
    import io
    tool = _tool()
    records, tracks = _one_read()

    class Reads:
        case_sensitive = False

        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, inputs, on_records=None, **kwargs):
            on_records(records)
            return dict(predictions=records, visualization=[], num_failed=0)

    class FullDisk(io.StringIO):
        def write(self, text):
            raise OSError(28, 'No space left on device')

    import dld.apis
    monkeypatch.setattr(dld.apis, 'PlateRecognizer', Reads)
    monkeypatch.setattr(dld.apis, 'load_config', lambda *args: None)
    import os
    real_fdopen = os.fdopen

    def fdopen(fd, mode='r', *a, **kw):  # the partial file, opened to append
        if 'a' in mode:
            os.close(fd)
            return FullDisk()
        return real_fdopen(fd, mode, *a, **kw)
    monkeypatch.setattr(os, 'fdopen', fdopen)
    out = tmp_path / 'r.jsonl'
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', str(out)]) == 0
    assert (f'cannot write {out}.partial: No space left on device; reading on, the records '
            'kept in memory until the end') in capsys.readouterr().err
    assert _read_jsonl(out) == records and not (tmp_path / 'r.jsonl.partial').exists()


def test_the_partial_file_goes_once_out_is_written_whatever_else_fails(tmp_path, capsys,
                                                                     monkeypatch):
    """A failed --tracks-csv left OUT.partial, and the next run was refused."""
    tool = _tool()
    records, tracks = _one_read()
    _reads(monkeypatch, records, tracks)
    _disk_full_for(monkeypatch, tool, '.csv')
    out = tmp_path / 'r.jsonl'
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', str(out), '--tracks-csv',
                      str(tmp_path / 'v.csv')]) == 2
    assert _read_jsonl(out) == records and not (tmp_path / 'r.jsonl.partial').exists()


def test_a_stop_before_any_image_keeps_the_out_file_and_says_it_stopped(tiny_run, tmp_path,
                                                                       capsys, monkeypatch):
    """It said 'no image was read' and exited 1, not the stop's 130."""
    from dld.apis import PlateRecognizer

    def forward(self, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(PlateRecognizer, 'forward', forward)
    out = tmp_path / 'records.jsonl'
    out.write_text('{"earlier": "run"}\n')
    assert _tool().main([tiny_run['config'], tiny_run['student'],
                         osp.join(tiny_run['data'], 'test.txt'), '--out', str(out),
                         '--no-progress']) == 130
    assert out.read_text() == '{"earlier": "run"}\n'
    assert f'stopped by Ctrl-C before any image was read; {out} is kept as it was' in \
        capsys.readouterr().err


def test_a_run_that_reads_nothing_keeps_the_out_file_it_was_given(tiny_run, tmp_path, capsys):
    """A mistyped input replaced 20000 records with one error record."""
    out = tmp_path / 'records.jsonl'
    out.write_text('{"earlier": "run"}\n')
    rc = _tool().main([tiny_run['config'], tiny_run['student'], str(tmp_path / 'typo'),
                       '--out', str(out), '--no-progress'])
    assert rc == 1 and out.read_text() == '{"earlier": "run"}\n'
    captured = capsys.readouterr()
    assert f'infer.py: no image was read; {out} is kept as it was' in captured.err
    assert 'no such file or folder' in captured.out  # the record, printed instead
    assert not (tmp_path / 'records.jsonl.partial').exists()


@pytest.mark.parametrize('ok, status', [(True, 0), (False, 1)])
def test_a_closed_pipe_ends_the_run_quietly_with_its_status(tmp_path, monkeypatch, ok, status):
    """`infer.py ... | head` ended in a BrokenPipeError traceback; quiet, the
    status is the run's (1 where nothing was read, not 0)."""
    import io
    import os
    tool = _tool()
    records = [dict(input=f'{i}.png', path=f'{i}.png', text='ABC' if ok else None,
                    confidence=0.9, scale=1.0, input_size=[48, 144], gflops=1e-3,
                    gflops_teacher=2e-3, track_id='t', frame_idx=i,
                    error=None if ok else 'no such file or folder') for i in range(3)]
    _reads(monkeypatch, records, [])

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, 'Broken pipe')

        def fileno(self):
            return 1

    monkeypatch.setattr(sys, 'stdout', Closed())
    monkeypatch.setattr(os, 'dup2', lambda *args: None)
    assert tool.main(['c.py', 'w.pth', 'a.png', '--no-progress']) == status


def test_topk_texts_end_the_printed_line_and_max_pixels_is_an_option(tmp_path, capsys):
    """--topk without --out printed no texts beyond the best; the refusal of
    a large image said to raise max_pixels, which the command had no way to."""
    import cv2
    import numpy as np
    files = make_attention_dld(str(tmp_path / 'model'))
    cv2.imwrite(str(tmp_path / 'plate.png'), np.full((20, 60, 3), 128, np.uint8))
    model = [files['config'], files['checkpoint'], str(tmp_path / 'plate.png'), '--scale',
             '1', '--no-progress', '--device', 'cpu']
    assert _tool().main([*model, '--topk', '2']) == 0
    line = capsys.readouterr().out.splitlines()[0].split('\t')
    import re
    assert len(line) == 8 and all(re.fullmatch(r'.* \(-?\d+\.\d{3}\)', c) for c in line[-2:])
    assert _tool().main([*model, '--max-pixels', '1000']) == 1  # 20 x 60 = 1200
    assert 'image of 60x20 pixels exceeds the limit of 1000 pixels; crop the plate first or ' \
        'raise the limit (max_pixels; infer.py --max-pixels)' in capsys.readouterr().out
    for given, value in (('1e9', 10 ** 9), ('none', None), ('inf', None), ('2000', 2000)):
        assert _tool().parse_args(['c.py', 'w.pth', 'x.png', '--max-pixels', given]) \
            .max_pixels == value
    for bad in ('0', '1.5', 'nan', 'abc'):  # 1.5 read as 1 refused every image
        with pytest.raises(SystemExit):
            _tool().parse_args(['c.py', 'w.pth', 'x.png', '--max-pixels', bad])


def test_an_out_of_a_dash_is_refused_not_written_as_a_file_named_dash(capsys):
    for flag in ('--out', '--tracks-csv'):
        with pytest.raises(SystemExit) as info:
            _tool().parse_args(['c.py', 'w.pth', 'x.png', flag, '-'])
        assert info.value.code == 2
        assert f'{flag} -: give a file' in capsys.readouterr().err


def test_the_summary_says_a_refused_label_line_is_one_record(tiny_run, tmp_path, capsys):
    """'0/2 image(s) read' for two lines of five images each read as two images."""
    labels = tmp_path / 'labels.txt'
    labels.write_text('t/lr-1.png,t/lr-2.png,t/lr-3.png\tAB\tC\nu/lr-1.png\tAB\tC\n')
    assert _tool().main([tiny_run['config'], tiny_run['student'], str(labels),
                         '--no-progress']) == 1
    assert '0/2 image(s) read; 2 failed (see their error records; 2 of them a label line ' \
        'refused whole, its images not counted)' in capsys.readouterr().err


def test_drawings_into_an_input_folder_are_noted(tmp_path, capsys):
    from argparse import Namespace
    tool = _tool()
    tool._note_drawings_below_inputs(Namespace(vis=str(tmp_path / 'vis'), inputs=[str(tmp_path)]))
    assert f'--vis {tmp_path / "vis"} is in the input folder {tmp_path}' in capsys.readouterr().err
    tool._note_drawings_below_inputs(Namespace(vis=str(tmp_path / 'vis'),
                                               inputs=[str(tmp_path / 'a.png')]))
    assert capsys.readouterr().err == ''


def test_a_link_planted_as_the_partial_file_is_refused_and_nothing_written_there(
        tiny_run, tmp_path, capsys):
    """OUT.partial was opened through a link (a dangling one passed the check):
    the records were written where it pointed (a security recheck)."""
    import os
    out = tmp_path / 'shared' / 'out.jsonl'
    out.parent.mkdir()
    target = tmp_path / 'created_elsewhere.txt'
    os.symlink(target, f'{out}.partial')
    assert _tool().main([tiny_run['config'], tiny_run['student'],
                         osp.join(tiny_run['data'], 'test.txt'), '--no-progress',
                         '--out', str(out)]) == 2
    assert f'{out}.partial is a link: the records of this run are written there' in \
        capsys.readouterr().err
    assert not target.exists() and not out.exists()


def test_labels_longer_than_the_decoder_reads_are_said(tiny_run, tmp_path, capsys):
    """test.py warned of labels longer than the decoder emits; infer.py said
    nothing. Readings of that very length are not said: the plates read in
    full are of it (7 characters, max_seq_len 8)."""
    from dld.apis import load_config
    from dld.engine.hooks.label_length_check_hook import max_label_length
    from dld.registry import MODELS
    files = make_attention_dld(str(tmp_path / 'model'), data_root=tiny_run['data'])
    limit = max_label_length(MODELS.build(load_config(files['config']).model.student))
    with open(osp.join(tiny_run['data'], 'test.txt')) as f:
        first = f.read().splitlines()[0]
    images = first.split('\t')[0].replace('test/', osp.join(tiny_run['data'], 'test') + '/')
    long_label = ('AB' * limit)[:limit + 1]
    (tmp_path / 'long.txt').write_text(f'{images}\t{long_label}\n{images}\tAB\n')
    assert _tool().main([files['config'], files['checkpoint'], str(tmp_path / 'long.txt'),
                         '--no-progress', '--device', 'cpu']) == 0
    err = capsys.readouterr().err
    assert (f'infer.py: 2 labelled image(s) have a label of more than {limit} characters, the '
            'most the model reads (max_seq_len - 1): never read whole') in err  # 2 frames
    assert f"{long_label!r})" in err


def test_with_out_a_mistyped_input_is_said_on_the_terminal(tiny_run, tmp_path, capsys):
    """'0/1 image(s) read; 1 failed (see their error records)': why was only
    in the --out file (a newcomer's journey)."""
    out = tmp_path / 'x.jsonl'
    assert _tool().main([tiny_run['config'], tiny_run['student'], 'path/to/images/', '--out',
                         str(out), '--no-progress']) == 1
    assert 'infer.py: path/to/images/: no such file or folder' in capsys.readouterr().err
    many = [f'nope{i}.png' for i in range(7)]
    assert _tool().main([tiny_run['config'], tiny_run['student'], *many, '--out',
                         str(tmp_path / 'y.jsonl'), '--no-progress']) == 1
    err = capsys.readouterr().err
    assert 'infer.py: nope4.png: no such file' in err and 'nope5.png' not in err
    assert 'infer.py: ... and 2 more failed input(s)' in err


def test_an_earlier_run_s_records_of_any_name_may_be_written_again(tmp_path):
    """An extension rule refused infer.py's own results.json: a rerun, and a
    --resume that reads its records back from --out (a review)."""
    tool = _tool()
    (tmp_path / 'a.png').write_bytes(b'image')
    (tmp_path / 'results.json').write_text('{"input": "a.png"}\n')
    args = tool.parse_args(['c.py', 'w.pth', str(tmp_path / 'a.png'), '--out',
                            str(tmp_path / 'results.json')])
    assert tool._unwritable_outputs(args) == []


def test_the_progress_bar_is_drawn_on_a_terminal_only(monkeypatch):
    """In a log file or a pipe each redraw was a copy on one line (the
    quickstart's log; a fresh-machine journey); --no-progress leaves it out
    on a terminal too."""
    import sys
    from types import SimpleNamespace
    tool = _tool()
    for terminal, no_progress, drawn in ((True, False, True), (False, False, False),
                                         (True, True, False)):
        monkeypatch.setattr(sys.stderr, 'isatty', lambda t=terminal: t, raising=False)
        assert tool.draws_progress(SimpleNamespace(no_progress=no_progress)) is drawn


def _on_a_closed_terminal(tool, monkeypatch, stream: str, argv) -> int:
    """``tool.main(argv)`` where writing to ``sys.<stream>`` fails as on a
    terminal closed before its SIGHUP came (EIO): the stop points stdout and
    stderr at a null device (pytest's own are left alone), and SIGHUP's
    handler is put back (the stop leaves a hang-up ignored)."""
    import errno
    import io

    from dld.utils import stop_signals
    monkeypatch.setattr(stop_signals, '_off_the_closed_terminal',
                        lambda: (setattr(sys, 'stdout', io.StringIO()),
                                 setattr(sys, 'stderr', io.StringIO())))
    monkeypatch.setattr(tool, 'closed_terminal', lambda err: err.errno == errno.EIO)

    class Gone(io.StringIO):
        def write(self, text):
            raise OSError(errno.EIO, 'Input/output error')

    for name in ('stdout', 'stderr'):  # both put back after the test
        monkeypatch.setattr(sys, name, getattr(sys, name))
    monkeypatch.setattr(sys, stream, Gone())
    before = signal.getsignal(signal.SIGHUP)
    try:
        return tool.main(argv)
    finally:
        signal.signal(signal.SIGHUP, before)


@pytest.mark.skipif(not hasattr(signal, 'SIGHUP'), reason='no terminals here')
def test_a_terminal_closed_before_its_hang_up_came_is_the_hang_up_s_stop(tmp_path, monkeypatch):
    """A write to the closed terminal (EIO) before the SIGHUP came ended the
    tool with a traceback, lost with the terminal (status 1); the records
    it had written stay, and it ends as the hang-up's stop (129)."""
    tool = _tool()
    records, tracks = _one_read()
    _reads(monkeypatch, records, tracks)
    out = tmp_path / 'results.jsonl'
    assert _on_a_closed_terminal(tool, monkeypatch, 'stderr',
                                 ['c.py', 'w.pth', 'a.png', '--out', str(out)]) == 129
    assert _read_jsonl(out) == records


@pytest.mark.skipif(not hasattr(signal, 'SIGHUP'), reason='no terminals here')
def test_a_tracks_csv_is_written_on_a_terminal_closed_before_its_hang_up(tmp_path,
                                                                           monkeypatch):
    """Without --out the records go to stdout before any file is written: the
    write's EIO left --tracks-csv unwritten (a review)."""
    tool = _tool()
    records, tracks = _one_read()
    records[0].update(input_size=[48, 144], confidence=0.9, scale=1.0)
    _reads(monkeypatch, records, tracks)
    csv = tmp_path / 'tracks.csv'
    assert _on_a_closed_terminal(tool, monkeypatch, 'stdout',
                                 ['c.py', 'w.pth', 'a.png', '--tracks-csv', str(csv)]) == 129
    assert csv.is_file(), '--tracks-csv was not written'


def test_a_partial_file_cut_short_by_the_full_disk_is_said_to_hold_a_part(tmp_path, capsys,
                                                                          monkeypatch):
    """It was said to hold "the records read" where it held the first batch's."""
    import io

    import dld.apis
    tool = _tool()
    records, _ = _one_read()
    batches = [[dict(records[0], input=f'{i}.png', path=f'{i}.png')] for i in range(3)]

    class Reads:
        case_sensitive = False

        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, inputs, on_records=None, **kwargs):
            for batch in batches:
                on_records(batch)
            return dict(predictions=sum(batches, []), visualization=[], num_failed=0)

    monkeypatch.setattr(dld.apis, 'PlateRecognizer', Reads)
    monkeypatch.setattr(dld.apis, 'load_config', lambda *args: None)
    real_fdopen = os.fdopen

    class FillsUp(io.TextIOWrapper):
        written = 0

        def write(self, text):
            if FillsUp.written:
                raise OSError(28, 'No space left on device')
            FillsUp.written += 1
            return super().write(text)

    def fdopen(fd, mode='r', *a, **kw):  # the partial file, opened to append
        if 'a' in mode:
            return FillsUp(real_fdopen(fd, 'ab'), encoding='utf-8')
        return real_fdopen(fd, mode, *a, **kw)

    def disk_full(src, dst):
        raise OSError(28, 'No space left on device', dst)
    monkeypatch.setattr(os, 'fdopen', fdopen)
    monkeypatch.setattr(tool.os, 'replace', disk_full)
    out = tmp_path / 'r.jsonl'
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', str(out)]) == 2
    captured = capsys.readouterr()
    assert len(_read_jsonl(f'{out}.partial')) == 1
    assert (f'1 of the 3 records (those written before its write failed) are also in '
            f'{out}.partial (--resume goes on from them)') in captured.err
    assert len(captured.out.splitlines()) == 3  # all of them on stdout


def test_a_stream_out_takes_its_votes_in_tracks_csv(tmp_path, capsys, monkeypatch):
    """``--out /dev/stdout --tracks-csv votes.csv``: the refusal of a stream's
    votes said 'or --tracks-csv a file for the votes', and refused that too."""
    tool = _tool()
    records, tracks = _one_read()
    _reads(monkeypatch, records, tracks)
    votes = tmp_path / 'votes.csv'
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', os.devnull,
                      '--tracks-csv', str(votes)]) == 0
    assert votes.read_text().splitlines()[1].startswith('t,ABC1234,')
    assert f'track votes in {votes}' in capsys.readouterr().err
    # without it the votes have nowhere to go: refused, as before
    assert tool.main(['c.py', 'w.pth', 'a.png', '--out', os.devnull, '--track']) == 2
    assert 'is a stream, and the track votes go to a file beside --out' in \
        capsys.readouterr().err


def test_readings_cut_at_max_seq_len_are_flagged_and_counted(tmp_path, capsys):
    """A reading the decoder's step limit ended where it would have read on
    (a plate longer than the model emits) was a plain 4-character reading:
    no record or summary said so."""
    import cv2
    import numpy as np
    import torch
    files = make_attention_dld(str(tmp_path / 'model'))  # max_seq_len=5
    state = torch.load(files['checkpoint'], weights_only=True)
    for end, name in ((False, 'never_ends.pth'), (True, 'ends.pth')):
        weights = dict(state['state_dict'])  # the student always reads 'A' (or its end)
        weights['student.decoder.classifier.weight'] = torch.zeros_like(
            weights['student.decoder.classifier.weight'])
        bias = torch.full_like(weights['student.decoder.classifier.bias'], -10.0)
        bias[36 if end else 10] = 10.0  # 36: the end token, 10: 'A'
        weights['student.decoder.classifier.bias'] = bias
        torch.save(dict(state_dict=weights), str(tmp_path / name))
    cv2.imwrite(str(tmp_path / 'plate.png'), np.full((20, 60, 3), 128, np.uint8))
    out = tmp_path / 'r.jsonl'
    assert _tool().main([files['config'], str(tmp_path / 'never_ends.pth'),
                         str(tmp_path / 'plate.png'), '--scale', '1.0', '--out', str(out),
                         '--no-progress', '--device', 'cpu']) == 0
    rec, = _read_jsonl(out)
    assert (rec['text'], rec['truncated']) == ('AAAA', True)
    assert ("; 1 reading(s) cut at the decoder's max_seq_len, where it would have read on "
            '(`truncated` in their records') in capsys.readouterr().err
    assert _tool().main([files['config'], str(tmp_path / 'ends.pth'),
                         str(tmp_path / 'plate.png'), '--scale', '1.0', '--out', str(out),
                         '--no-progress', '--device', 'cpu']) == 0
    rec, = _read_jsonl(out)
    assert (rec['text'], rec['truncated']) == ('', False)
    assert 'max_seq_len' not in capsys.readouterr().err
