"""Curating a label file (a data-lead journey): the likely label errors with
their ``file:line`` (analyze_readings.py), images two tracks share by content
(check_data.py --duplicates), one plate's tracks kept on one side of a split
(split_tracks.py). Before: the misreads were listed per image, by path, with
no line to fix; a track copied into the training set from the test set, one
track under two ids and HR frames of another plate all passed check_data.py,
and split_tracks.py put a track and its copy on both sides."""
import csv
import json
import os.path as osp
import shutil
import sys

from repo_scripts import REPO, load_script

sys.path.insert(0, osp.join(REPO, 'tests', 'apis'))
from tiny_dld import make_tiny_run  # noqa: E402


def _rec(path, text, gt, conf, track, line):
    return dict(input=path, path=path, text=text, confidence=conf, scale=1.0, scales_read=[1.0],
                gflops=0.5, gflops_teacher=1.0, track_id=track, frame_idx=0, gt_text=gt,
                read_right=text == gt, case_sensitive=False, annotation=f'train.txt:{line}',
                error=None, error_type=None)


READINGS = [
    # a wrong label: every frame reads the plate otherwise, confidently
    _rec('t1/1.png', 'ABC1234', 'ABC1Z34', 0.9, 't1', 1),
    _rec('t1/2.png', 'ABC1234', 'ABC1Z34', 0.8, 't1', 1),
    # a hard plate: the frames disagree, unsure
    _rec('t2/1.png', 'QQQ1111', 'OOO1111', 0.3, 't2', 2),
    _rec('t2/2.png', 'GOO1111', 'OOO1111', 0.2, 't2', 2),
    # one frame right: the label is not the suspect
    _rec('t3/1.png', 'XYZ9876', 'XYZ9876', 0.9, 't3', 3),
    _rec('t3/2.png', 'XYZ9878', 'XYZ9876', 0.95, 't3', 3),
]


def test_likely_label_errors_are_the_tracks_no_frame_reads_agreeing_first():
    from dld.apis.reading_analysis import label_suspects
    rows = label_suspects(READINGS)
    assert [(r['where'], r['gt'], r['text'], r['votes'], r['num_read']) for r in rows] == [
        ('train.txt:1', 'ABC1Z34', 'ABC1234', 2, 2), ('train.txt:2', 'OOO1111', 'QQQ1111', 1, 2)]
    assert abs(rows[0]['score'] - 0.85) < 1e-9 and rows[0]['edits'] == 1
    assert rows[0]['paths'] == ['t1/1.png', 't1/2.png']
    # a record without annotation (older infer.py, an image given by path): its path
    bare = [{k: v for k, v in r.items() if k != 'annotation'} for r in READINGS]
    assert label_suspects(bare)[0]['where'] == 't1/1.png'
    # case folded as read_right folded it: 'abc1z34' is the label, not a suspect
    folded = [dict(r, text=r['gt_text'].lower(), read_right=True) for r in READINGS[:2]]
    assert label_suspects(folded) == []


def test_analyze_readings_lists_them_with_file_line_and_writes_csv(tmp_path, capsys):
    readings = tmp_path / 'r.jsonl'
    readings.write_text(''.join(json.dumps(r) + '\n' for r in READINGS))
    tool = load_script('tools/analysis/analyze_readings.py')
    out_csv, out_json = tmp_path / 's.csv', tmp_path / 'a.json'
    assert tool.main([str(readings), '--suspects-csv', str(out_csv), '--json',
                      str(out_json)]) == 0
    out = capsys.readouterr().out
    assert '## Likely label errors (2 track(s)' in out
    assert '| train.txt:1 | ABC1Z34 | ABC1234 | 2/2               | 0.850        | 1       |' \
        in out
    rows = list(csv.DictReader(out_csv.open()))
    assert [(r['where'], r['label'], r['read'], r['paths']) for r in rows][0] == \
        ('train.txt:1', 'ABC1Z34', 'ABC1234', 't1/1.png;t1/2.png')
    assert json.loads(out_json.read_text())['label_suspects'][1]['where'] == 'train.txt:2'
    # one file for two outputs is refused
    import pytest
    with pytest.raises(SystemExit):
        tool.parse_args([str(readings), '--suspects-csv', str(out_csv), '--json', str(out_csv)])


def test_infer_records_name_the_label_line_of_each_image(tmp_path):
    from dld.apis import PlateRecognizer
    run = make_tiny_run(str(tmp_path / 'tiny'))
    labels = osp.join(run['data'], 'test.txt')
    shutil.copy(labels, tmp_path / 'x')
    recognizer = PlateRecognizer(run['config'], run['student'], device='cpu')
    with open(labels, 'a') as f:  # a line refused whole: a record named by it
        f.write('test/nope/lr-001.png\tAB\u00c412\n')
    records = recognizer(labels)['predictions']
    lines = [r['annotation'] for r in records]
    assert lines[0] == f'{labels}:1' and lines[2] == f'{labels}:2'
    assert lines[-1] == f'{labels}:7' and records[-1]['error'].count(f'{labels}:7') == 0
    # an image given by path has none
    assert 'annotation' not in recognizer(records[0]['path'])['predictions'][0]


def _plates(tmp_path):
    from dld.datasets.synth.generator import generate_synth_plates
    root = tmp_path / 'd'
    generate_synth_plates(str(root), tracks=4, val_tracks=1, test_tracks=2, frames=2, seed=0,
                          progress=False)
    config = tmp_path / 'mine.py'
    config.write_text(f"_base_ = ['{REPO}/configs/teacher_plate_hr.py']\n"
                      + ''.join(f"{s}_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n"
                                for s in ('train', 'val', 'test')))
    return root, config


def test_check_data_duplicates_finds_images_shared_by_content(tmp_path, capsys):
    root, config = _plates(tmp_path)
    tool = load_script('tools/analysis/check_data.py')
    train = (root / 'train.txt').read_text().splitlines()
    test = (root / 'test.txt').read_text().splitlines()
    # a test track copied into train under another folder; a train track under two ids
    shutil.copytree(root / 'test' / 'track_00001', root / 'train' / 'track_00098')
    shutil.copytree(root / 'train' / 'track_00000', root / 'train' / 'track_00099')
    # copies of the HR frames of track 2 listed for track 1 (another plate;
    # by the same path the set refuses the line itself)
    shutil.copytree(root / 'train' / 'track_00002', root / 'train' / 'track_00097')
    lr1, _ = train[1].split('\t')[0].split('|')
    hr2 = train[2].split('\t')[0].split('|')[1].replace('track_00002', 'track_00097')
    train[1] = f"{lr1}|{hr2}\t{train[1].split(chr(9))[1]}"
    train += [test[1].replace('test/track_00001', 'train/track_00098'),
              train[0].replace('track_00000', 'track_00099')]
    (root / 'train.txt').write_text('\n'.join(train) + '\n')
    assert tool.main([str(config)]) == 0  # by path and line alone: nothing found
    capsys.readouterr()
    out_json = tmp_path / 'c.json'
    assert tool.main([str(config), '--duplicates', '--json', str(out_json)]) == 1
    out = capsys.readouterr().out
    assert '1 pair(s) of tracks in two splits share an image' in out
    assert f'{root}/train.txt:5 (train, ' in out and f'{root}/test.txt:2 (test, ' in out
    assert '1 pair(s) of tracks of one split share an LR frame' in out
    assert f'{root}/train.txt:1 (train, ' in out and f'{root}/train.txt:6 (train, ' in out
    assert '1 pair(s) of tracks of one split share an HR frame under different labels' in out
    assert '3 problem(s) found.' in out
    found = json.loads(out_json.read_text())
    assert sorted(f['kind'] for f in found['duplicates']) == [
        'HR frame under two labels', 'across splits', 'same track twice']
    assert found['problems'] == 3 and found['sets'][0]['split'] == 'train'


def test_check_data_duplicates_pass_a_clean_set(tmp_path, capsys):
    _, config = _plates(tmp_path)
    assert load_script('tools/analysis/check_data.py').main([str(config), '--duplicates']) == 0
    assert 'No image file shared by two tracks' in capsys.readouterr().out


def test_split_tracks_names_and_by_plate_joins_one_plate_s_tracks(tmp_path, capsys):
    from plate_files import write_png
    root = tmp_path / 'train'
    for i in range(20):
        track = root / 'S' / f'track_{i:05d}'
        write_png(str(track / 'lr-001.png'), 16, 48)
        write_png(str(track / 'hr-001.png'), 64, 192)
        plate = 'ZZZ9999' if i in (3, 17) else f'ABC{i:04d}'  # one car, two tracks
        (track / 'annotations.json').write_text(json.dumps({'plate_text': plate}))
    tool = load_script('tools/split_tracks.py')
    both = None
    for seed in range(20):  # a seed whose split puts the two on both sides
        assert tool.main([str(root), '--val', '0.5', '--seed', str(seed), '--force']) == 0
        val = (root / 'splits' / 'val.txt').read_text().split()
        if ('S/track_00003' in val) != ('S/track_00017' in val):
            both = seed
            break
    assert both is not None
    err = capsys.readouterr().err
    assert '1 plate(s) have tracks in both lists' in err
    held = (root / 'splits' / 'val.txt').read_text().split()
    trained, kept = ('S/track_00017', 'S/track_00003') if 'S/track_00003' in held else \
        ('S/track_00003', 'S/track_00017')
    assert f'ZZZ9999 (train: {trained}; val: {kept})' in err  # which went where
    before = (root / 'splits' / 'train.txt').read_text()
    assert tool.main([str(root), '--val', '0.5', '--seed', str(both), '--force',
                      '--by-plate']) == 0
    train = (root / 'splits' / 'train.txt').read_text().split()
    val = (root / 'splits' / 'val.txt').read_text().split()
    assert {'S/track_00003', 'S/track_00017'} <= set(train) and not set(train) & set(val)
    assert len(train) + len(val) == 20 and set(before.split()) < set(train)
    assert 'moved to train' in capsys.readouterr().err


def test_check_data_duplicates_edges(tmp_path, capsys):
    """One set read by val and test (the docs' ICPR configs) is no leak; a
    track copied through a linked folder is a copy (the set does not warn of
    it); empty files are no shared image."""
    import os
    root, config = _plates(tmp_path)
    tool = load_script('tools/analysis/check_data.py')
    same = tmp_path / 'valtest.py'
    same.write_text(config.read_text() + 'val_dataloader = dict(dataset=dict('
                    f"data_root={str(root)!r}, ann_file='val.txt'))\n"
                    'test_dataloader = val_dataloader\n')
    assert tool.main([str(same), '--duplicates']) == 0
    assert 'No image file shared by two tracks' in capsys.readouterr().out
    train = (root / 'train.txt').read_text().splitlines()
    os.symlink('track_00000', root / 'train' / 'track_00099')
    (root / 'train.txt').write_text('\n'.join(
        train + [train[0].replace('track_00000', 'track_00099')]) + '\n')
    assert tool.main([str(config), '--duplicates', '--splits', 'train']) == 1
    assert '1 pair(s) of tracks of one split share an LR frame' in capsys.readouterr().out
    (root / 'train.txt').write_text('\n'.join(train) + '\n')
    lr_train = train[1].split('|')[0].split(',')[0]
    lr_test = (root / 'test.txt').read_text().splitlines()[0].split('|')[0].split(',')[0]
    for lr in (lr_train, lr_test):
        (root / lr).write_bytes(b'')
    tool.main([str(config), '--duplicates'])
    assert 'No image file shared by two tracks' in capsys.readouterr().out


def test_split_tracks_by_plate_that_holds_out_nothing_says_so(tmp_path, capsys):
    from plate_files import write_png
    root = tmp_path / 'train'
    for i in range(10):  # every plate seen twice
        track = root / 'S' / f'track_{i:05d}'
        write_png(str(track / 'lr-001.png'), 16, 48)
        write_png(str(track / 'hr-001.png'), 64, 192)
        (track / 'annotations.json').write_text(json.dumps({'plate_text': f'ABC{i // 2:04d}'}))
    tool = load_script('tools/split_tracks.py')
    for seed in range(20):  # a draw whose held-out tracks all have their twin in train
        rc = tool.main([str(root), '--val', '0.2', '--seed', str(seed), '--force', '--by-plate'])
        if rc == 2:
            break
    assert rc == 2
    err = capsys.readouterr().err
    assert 'moved all 2 held-out track(s) to train' in err and 'share rounds to 0' not in err


def test_check_data_duplicates_name_a_set_read_by_val_and_test_once(tmp_path, capsys):
    """The docs' ICPR configs read one set as val and test: a leak into it,
    or a track twice in it, is one finding (split 'val/test'), not one per
    loader, nor a leak from val to test."""
    root, config = _plates(tmp_path)
    tool = load_script('tools/analysis/check_data.py')
    train = (root / 'train.txt').read_text().splitlines()
    val = (root / 'val.txt').read_text().splitlines()
    shutil.copytree(root / 'train' / 'track_00000', root / 'val' / 'track_00098')
    shutil.copytree(root / 'val' / 'track_00000', root / 'val' / 'track_00099')
    val += [train[0].replace('train/track_00000', 'val/track_00098'),
            val[0].replace('val/track_00000', 'val/track_00099')]
    (root / 'val.txt').write_text('\n'.join(val) + '\n')
    same = tmp_path / 'valtest.py'
    same.write_text(config.read_text() + 'val_dataloader = dict(dataset=dict('
                    f"data_root={str(root)!r}, ann_file='val.txt'))\n"
                    'test_dataloader = val_dataloader\n')
    out_json = tmp_path / 'd.json'
    assert tool.main([str(same), '--duplicates', '--json', str(out_json)]) == 1
    out = capsys.readouterr().out
    assert '1 pair(s) of tracks in two splits share an image' in out
    assert f'{root}/val.txt:2 (val/test, ' in out
    assert '1 pair(s) of tracks of one split share an LR frame' in out
    assert '2 problem(s) found.' in out
    found = json.loads(out_json.read_text())['duplicates']
    assert [(f['first_split'], f['second_split']) for f in found] == [
        ('train', 'val/test'), ('val/test', 'val/test')]


def _twelve_tracks_and_their_config(tmp_path):
    """12 generated training tracks and a teacher config reading them."""
    from dld.datasets.synth.generator import generate_synth_plates
    root = tmp_path / 'd'
    generate_synth_plates(str(root), tracks=12, val_tracks=1, test_tracks=1, frames=2, seed=0,
                          progress=False)
    config = tmp_path / 'mine.py'
    config.write_text(f"_base_ = ['{REPO}/configs/teacher_plate_hr.py']\n"
                      f"train_dataloader = dict(dataset=dict(data_root={str(root)!r}))\n")
    return root, config


def test_check_data_names_a_line_whose_frames_lie_in_another_track_s_folder(tmp_path, capsys):
    """A frame list holding another track's frames, that track not listed:
    nothing by path or label found it (no frame listed twice), and an LR
    model cannot see HR frames of another plate. Before: 'No problem found'
    and not a word of the two lines."""
    root, config = _twelve_tracks_and_their_config(tmp_path)
    tool = load_script('tools/analysis/check_data.py')
    assert tool.main([str(config), '--splits', 'train']) == 0
    assert 'lie apart' not in capsys.readouterr().out  # the clean set: not a word
    lines = (root / 'train.txt').read_text().splitlines()

    def frames(line):
        lr, hr = line.split('\t')[0].split('|')
        return lr.split(','), hr.split(','), line.split('\t')[1]

    lr, hr, text = frames(lines[0])
    olr, ohr, _ = frames(lines[10])
    lines[0] = f"{lr[0]},{olr[1]}|{hr[0]},{ohr[1]}\t{text}"  # its 2nd frame another's
    lr, _, text = frames(lines[3])
    lines[3] = f"{','.join(lr)}|{','.join(frames(lines[11])[1])}\t{text}"  # another's HR
    (root / 'train.txt').write_text('\n'.join(lines[:10]) + '\n')  # 10, 11 not listed
    out_json = tmp_path / 'c.json'
    assert tool.main([str(config), '--splits', 'train', '--json', str(out_json)]) == 0
    out = capsys.readouterr().out
    assert '2 track(s) whose frames lie apart' in out
    assert out.rstrip().endswith('No problem found (2 track(s) warned of above: look at their '
                                 'frames).')
    assert (f'{root}/train.txt:1: its LR frames lie in 2 folders (train/track_00000: 1, '
            'train/track_00010: 1): a frame of another track?; its HR frames lie in 2 '
            'folders') in out
    assert (f'{root}/train.txt:4: its LR frames lie in train/track_00003, its HR frames in '
            'train/track_00011: the frames of another track?') in out
    scattered = json.loads(out_json.read_text())['sets'][0]['scattered']
    assert [s['where'] for s in scattered] == [f'{root}/train.txt:1', f'{root}/train.txt:4']


def test_check_data_s_tenth_of_the_tracks_counts_the_lr_and_hr_frame_lists_apart(
        tmp_path, capsys):
    """docs/datasets.md: each check is made where at most a tenth of the
    tracks it applies to are apart. The LR and HR frame lists were counted
    as one check of twice the tracks: 2 tracks of 10 (a fifth) with an LR
    frame of another were warned of."""
    root, config = _twelve_tracks_and_their_config(tmp_path)
    lines = (root / 'train.txt').read_text().splitlines()
    second = lines[1]
    for i, other in ((0, 10), (1, 11)):
        lr, rest = lines[i].split('|')
        lines[i] = f"{lr.split(',')[0]},train/track_{other:05d}/lr-002.png|{rest}"
    tool = load_script('tools/analysis/check_data.py')
    (root / 'train.txt').write_text('\n'.join(lines[:10]) + '\n')  # 10, 11 not listed
    assert tool.main([str(config), '--splits', 'train']) == 0
    assert 'lie apart' not in capsys.readouterr().out  # a fifth: the layout
    # one of 10: warned of
    (root / 'train.txt').write_text('\n'.join([lines[0], second] + lines[2:10]) + '\n')
    assert tool.main([str(config), '--splits', 'train']) == 0
    assert '1 track(s) whose frames lie apart' in capsys.readouterr().out


def test_check_data_takes_frames_apart_for_the_layout_where_most_tracks_keep_them_so(
        tmp_path, capsys):
    """LR and HR in parallel trees (lr/track_7/, hr/track_7/) agree by the
    track folder's name; a set whose every line spreads its frames over
    folders is its layout, not a mistake: neither is warned of."""
    from plate_files import write_png
    root = tmp_path / 'p'
    rows = []
    for i in range(6):
        for stream, (h, w) in (('lr', (16, 48)), ('hr', (64, 192))):
            for k in (1, 2):
                write_png(str(root / stream / f'track_{i}' / f'{k}.png'), h, w)
        # frame k of every track in folder day_k: every track spread
        for k in (1, 2):
            write_png(str(root / f'day_{k}' / f'lr_{i}.png'), 16, 48)
        rows.append(f'lr/track_{i}/1.png,lr/track_{i}/2.png|hr/track_{i}/1.png,'
                    f'hr/track_{i}/2.png\tABC{i:04d}')
    (root / 'trees.txt').write_text('\n'.join(rows) + '\n')
    (root / 'days.txt').write_text(''.join(f'day_1/lr_{i}.png,day_2/lr_{i}.png\tABC{i:04d}\n'
                                           for i in range(6)))
    tool = load_script('tools/analysis/check_data.py')
    for ann, cfg in (('trees.txt', 'teacher_plate_hr.py'), ('days.txt', 'student_plate_lr.py')):
        config = tmp_path / f'{ann}.py'
        config.write_text(f"_base_ = ['{REPO}/configs/{cfg}']\n"
                          f"test_dataloader = dict(dataset=dict(data_root={str(root)!r}, "
                          f"ann_file={ann!r}))\n")
        assert tool.main([str(config), '--splits', 'test']) == 0, ann
        assert 'lie apart' not in capsys.readouterr().out
