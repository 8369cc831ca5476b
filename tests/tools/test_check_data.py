"""tools/analysis/check_data.py: every problem of a config's sets at once,
before a run (an own-data journey found no such check: a run stopped at a
set's first bad line, one fix a run, and an undecodable validation frame
after an epoch's training)."""
import os.path as osp

import pytest
from repo_scripts import load_script

from dld.utils.config_file import read_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def broken_sets(tmp_path):
    """A small synthetic set with one problem of each kind, and a config
    reading it."""
    from dld.datasets.synth.generator import generate_synth_plates
    root = tmp_path / 'd'
    generate_synth_plates(str(root), tracks=4, val_tracks=2, test_tracks=2, frames=2, seed=0,
                          progress=False)
    hr = {split: [line.split('\t')[0].split('|')[1].split(',')[0]
                  for line in (root / f'{split}.txt').read_text().splitlines()]
          for split in ('val', 'test')}
    (root / hr['val'][0]).write_bytes(b'')  # empty
    (root / hr['test'][1]).write_bytes(b'garbage')  # does not decode
    with open(root / 'train.txt', 'a') as f:
        f.write('nope/lr.png|nope/hr.png\tAB12\n'  # missing, line 5
                'x/lr.png|x/hr.png\tAB\u00c412\n')  # a character outside the dictionary
    config = tmp_path / 'mine.py'
    config.write_text(f"_base_ = ['{REPO}/configs/teacher_plate_hr.py']\n"
                      + ''.join(f"{s}_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n"
                                for s in ('train', 'val', 'test')))
    return root, config, hr


def test_every_problem_of_every_set_is_listed_with_its_line(broken_sets, capsys):
    root, config, hr = broken_sets
    tool = load_script('tools/analysis/check_data.py')
    assert tool.main([str(config), '--decode']) == 1
    out = capsys.readouterr().out
    assert f'{root}/train.txt:6: ' in out and '1 line(s) refused' in out  # the Ä
    assert f"  {root / 'nope' / 'hr.png'} ({root}/train.txt:5)" in out
    assert f"  {root / hr['val'][0]} ({root}/val.txt:1, empty: 0 bytes)" in out
    assert f"  {root / hr['test'][1]} ({root}/test.txt:2): cannot decode image" in out
    assert '4 problem(s) found.' in out
    # without --decode the images are looked for only: the garbage one passes
    assert tool.main([str(config), '--splits', 'test']) == 0
    out = capsys.readouterr().out
    assert 'No problem found.' in out and '--decode decodes each' in out


def test_sets_without_problems_or_files_pass(tmp_path, capsys):
    from dld.datasets.synth.generator import generate_synth_plates
    root = tmp_path / 'd'
    generate_synth_plates(str(root), tracks=2, val_tracks=1, test_tracks=1, frames=1, seed=0,
                          progress=False)
    config = tmp_path / 'mine.py'
    config.write_text(f"_base_ = ['{REPO}/configs/dld_plate_hr_online.py']\n"
                      + ''.join(f"{s}_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n"
                                for s in ('val', 'test')))
    tool = load_script('tools/analysis/check_data.py')
    assert tool.main([str(config), '--decode']) == 0
    out = capsys.readouterr().out
    assert 'rendered when read, or a set of its own kind: no files to check' in out
    # the plates it renders in the table, not "0 tracks, 0 items" (a mixing journey)
    [row] = [r for r in out.splitlines() if 'OnlineSynthPlateDataset' in r and r.startswith('|')]
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[3:5] == ['-', str(read_config(str(config)).train_dataloader.dataset.num_plates)]
    assert 'No problem found.' in out


def test_refused_lines_are_listed_once_and_still_where_every_line_is_refused(tmp_path, capsys):
    """The set's own warning listing the skipped lines is left out (the tool
    lists them), but where every line is refused the set cannot be built and
    its error says they are 'listed in the warning above': said then."""
    from log_records import current_log_records

    from dld.datasets.synth.generator import generate_synth_plates
    root = tmp_path / 'd'
    generate_synth_plates(str(root), tracks=2, val_tracks=1, test_tracks=1, frames=1, seed=0,
                          progress=False)
    config = tmp_path / 'mine.py'
    config.write_text(f"_base_ = ['{REPO}/configs/teacher_plate_hr.py']\n"
                      f"train_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n")
    tool = load_script('tools/analysis/check_data.py')
    with open(root / 'train.txt', 'a') as f:
        f.write('x/lr.png|x/hr.png\tAB\u00c412\n')
    with current_log_records() as records:
        assert tool.main([str(config), '--splits', 'train']) == 1
    assert not [r for r in records if 'bad annotation(s) of' in r.getMessage()]
    assert capsys.readouterr().out.count('outside the dictionary') == 1
    (root / 'train.txt').write_text('x/lr.png|x/hr.png\tAB\u00c412\n')
    with current_log_records() as records:
        assert tool.main([str(config), '--splits', 'train']) == 1
    assert 'listed in the warning above' in capsys.readouterr().out
    said = [r.getMessage() for r in records if 'bad annotation(s) of' in r.getMessage()]
    assert len(said) == 1 and 'outside the dictionary' in said[0]


def test_a_file_many_tracks_share_pairs_each_track_once_per_split_and_label():
    """A placeholder image in 3000 tracks made 4.5 million pairs (38 s, 4.4
    GiB); each track now pairs with one track of each (split, label), which
    still names every track and every kind of pair."""
    check_data = load_script('tools/analysis/check_data.py')
    tracks = [dict(split=('train', 'val')[i % 2], label=f'P{i % 3}') for i in range(3000)]
    shared = [(i, 'hr', f'/x/{i}.png') for i in range(3000)]
    pairs = check_data._sharing_pairs(shared, tracks)
    assert len(pairs) < 6 * 3000
    named = {x[0] for pair in pairs for x in pair}
    assert named == set(range(3000))
    kinds = {frozenset(((tracks[a[0]]['split'], tracks[a[0]]['label']),
                        (tracks[b[0]]['split'], tracks[b[0]]['label']))) for a, b in pairs}
    assert len(kinds) == 6 * 7 // 2  # every pair of (split, label) classes, and each with itself
    few = shared[:4]  # a few tracks: every pair, as before
    assert len(check_data._sharing_pairs(few, tracks)) == 6


def test_labels_longer_than_the_decoder_emits_are_listed_as_train_py_lists_them(
        tmp_path, capsys):
    """train.py refused them before its first step (LabelLengthCheckHook),
    listing all; check_data.py passed them ('No problem found.'). A training
    one is a problem, a validation one warned of, in train.py's words."""
    from dld.datasets.synth.generator import generate_synth_plates
    root = tmp_path / 'd'
    generate_synth_plates(str(root), tracks=2, val_tracks=1, test_tracks=1, frames=1, seed=0,
                          progress=False)
    for split, extra in (('train', '0'), ('val', '123')):  # 8 and 10 characters
        lines = (root / f'{split}.txt').read_text().splitlines()
        lines[-1] += extra
        (root / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    config = tmp_path / 'mine.py'
    config.write_text(f"_base_ = ['{REPO}/configs/teacher_plate_hr.py']\n"
                      + ''.join(f"{s}_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n"
                                for s in ('train', 'val', 'test')))
    tool = load_script('tools/analysis/check_data.py')
    assert tool.main([str(config)]) == 1
    out = capsys.readouterr().out
    assert ('1 training label(s) have more than 7 characters, the most model.decoder emits '
            f"(its max_seq_len - 1); training would cut them:\n  {root}/train.txt:2: '") in out
    assert ('1 validation label(s) have more than 7 characters and can never be read whole '
            f'(each counts as a misread):\n  {root}/val.txt:1: ') in out
    assert '1 problem(s) found.' in out  # the validation label only warned of
    # a decoder that emits them: nothing to say
    assert tool.main([str(config), '--cfg-options', 'model.decoder.max_seq_len=11']) == 0
    assert 'No problem found.' in capsys.readouterr().out
    # a model that cannot be built: said, the sets still checked
    assert tool.main([str(config), '--splits', 'test', '--cfg-options',
                      'model.decoder.type=NoSuchDecoder']) == 0
    out = capsys.readouterr().out
    assert out.startswith('Label lengths not checked: the model cannot be built (')
    assert 'No problem found.' in out


def test_each_set_s_tracks_are_read_once(tmp_path, monkeypatch, capsys):
    """The frames-apart check read the set's tracks again after the set
    was built: a track-folder release walked twice and each annotations.json
    read twice (a third of the check at 100,000 tracks). (That the check still
    warns: tests/tools/test_label_curation.py.)"""
    import json

    from plate_files import write_png

    from dld.datasets import LRLPRTrackDataset
    root = tmp_path / 'lrlpr'
    for i in range(3):
        track = root / 'Scenario-A' / f'track_{i:05d}'
        write_png(str(track / 'lr-001.png'), 16, 48)
        write_png(str(track / 'hr-001.png'), 64, 192)
        (track / 'annotations.json').write_text(json.dumps({'plate_text': f'ABC{i:04d}'}))
    config = tmp_path / 'mine.py'
    config.write_text(f"_base_ = ['{REPO}/configs/teacher_plate_hr.py']\n"
                      "train_dataloader = dict(dataset=dict(_delete_=True, "
                      f"type='LRLPRTrackDataset', data_root={str(root)!r}, ann_file='', "
                      "pipeline=_base_.train_dataloader.dataset.pipeline))\n")
    reads = []
    iter_tracks = LRLPRTrackDataset.iter_tracks
    monkeypatch.setattr(LRLPRTrackDataset, 'iter_tracks',
                        lambda self: reads.append(self) or iter_tracks(self))
    assert load_script('tools/analysis/check_data.py').main([str(config), '--splits',
                                                              'train']) == 0
    assert len(reads) == 1
    assert 'iter_tracks' not in vars(reads[0])  # the set's own reader again, once built
    out, err = capsys.readouterr()
    row = next(line for line in out.splitlines() if line.startswith('| train'))
    assert [c.strip() for c in row.split('|')[4:6]] == ['3', '3']  # tracks, items
    # counted on a terminal only (some 10 s without a word at 100,000 tracks)
    assert 'reading tracks' not in err
    import sys
    monkeypatch.setattr(sys.stderr, 'isatty', lambda: True)
    assert load_script('tools/analysis/check_data.py').main([str(config), '--splits',
                                                              'train']) == 0
    assert 'reading tracks: 0track' in capsys.readouterr().err  # then cleared
