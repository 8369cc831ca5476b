"""tools/split_tracks.py: train/val track lists of an ICPR-layout release."""
import json

import pytest
from plate_files import write_png
from repo_scripts import load_script

GROUPS = {'Scenario-A/Brazilian': 10, 'Scenario-B/Mercosur': 3}


def _release(root):
    for group, num in GROUPS.items():
        for i in range(num):
            track = root / group / f'track_{i:05d}'
            write_png(str(track / 'lr-001.png'), 16, 48)
            write_png(str(track / 'hr-001.png'), 64, 192)
            (track / 'annotations.json').write_text(json.dumps({'plate_text': f'ABC{i:04d}'}))
    return root


def _lines(path):
    return path.read_text().splitlines()


def test_each_group_is_split_in_proportion_and_the_lists_cover_every_track_once(tmp_path,
                                                                               capsys):
    root = _release(tmp_path / 'train')
    tool = load_script('tools/split_tracks.py')
    assert tool.main([str(root), '--val', '0.2', '--seed', '3']) == 0
    train, val = _lines(root / 'splits' / 'train.txt'), _lines(root / 'splits' / 'val.txt')
    assert sorted(train + val) == sorted(f'{g}/track_{i:05d}' for g, n in GROUPS.items()
                                         for i in range(n))
    assert not set(train) & set(val)
    # 2 of 10 and, rounded, 1 of 3 (each group seen in validation)
    assert sum(t.startswith('Scenario-A/') for t in val) == 2
    assert sum(t.startswith('Scenario-B/') for t in val) == 1
    assert '13 tracks in 2 group(s): 10 in' in capsys.readouterr().out

    # The same seed, the same lists; another seed, others; no silent overwrite.
    assert tool.main([str(root), '--val', '0.2', '--seed', '3']) == 2
    assert tool.main([str(root), '--val', '0.2', '--seed', '3', '--force']) == 0
    assert _lines(root / 'splits' / 'val.txt') == val
    assert tool.split_tracks(train + val, 0.2, 4)[1] != val


def test_the_lists_are_what_the_dataset_reads(tmp_path):
    from dld.datasets import LRLPRTrackDataset
    root = _release(tmp_path / 'train')
    assert load_script('tools/split_tracks.py').main([str(root), '--val', '0.3']) == 0
    ds = LRLPRTrackDataset(data_root=str(root), ann_file='splits/val.txt', frames='first',
                           test_mode=True, pipeline=[])
    assert sorted(ds.get_data_info(i)['track_id'] for i in range(len(ds))) == \
        _lines(root / 'splits' / 'val.txt')


@pytest.mark.parametrize('argv,says', [
    (['--val', '0'], '--val must be between 0 and 1'),
    (['--val', '1'], '--val must be between 0 and 1'),
])
def test_a_val_share_outside_zero_and_one_is_refused(tmp_path, capsys, argv, says):
    with pytest.raises(SystemExit):
        load_script('tools/split_tracks.py').parse_args([str(tmp_path), *argv])
    assert says in capsys.readouterr().err


def test_a_folder_without_tracks_is_named(tmp_path, capsys):
    assert load_script('tools/split_tracks.py').main([str(tmp_path)]) == 2
    assert f'no track folder (one holding lr-* frames) below {tmp_path}' in \
        capsys.readouterr().err


def test_a_split_that_holds_out_no_track_is_refused(tmp_path, capsys):
    root = tmp_path / 'train'
    for group in ('A', 'B'):  # one track a group: nothing to hold out of either
        write_png(str(root / group / 'track_1' / 'lr-001.png'), 16, 48)
    assert load_script('tools/split_tracks.py').main([str(root), '--val', '0.1']) == 2
    assert 'holds out none' in capsys.readouterr().err
    assert not (root / 'splits').exists()


def test_a_track_folder_without_lr_frames_is_left_out_and_named(tmp_path, capsys):
    """It went into a list, whose set then refused it when built."""
    root = _release(tmp_path / 'train')
    hr_only = root / 'Scenario-A' / 'Brazilian' / 'track_00099'
    write_png(str(hr_only / 'hr-001.png'), 64, 192)
    assert load_script('tools/split_tracks.py').main([str(root), '--val', '0.3']) == 0
    listed = _lines(root / 'splits' / 'train.txt') + _lines(root / 'splits' / 'val.txt')
    assert len(listed) == sum(GROUPS.values()) and 'Scenario-A/Brazilian/track_00099' not in listed
    assert ('left out 1 track folder(s) without lr-* frames: Scenario-A/Brazilian/track_00099 '
            '(its hr-* frames have no LR frames to pair with)') in capsys.readouterr().err


def test_listed_tracks_a_training_set_would_refuse_are_named_at_split_time(tmp_path, capsys):
    """Listed without a word, they stopped training one at a time; a
    release's blind test/ tracks (no label, no HR) went into the lists."""
    root = _release(tmp_path / 'lrlpr')
    bad = root / 'Scenario-A' / 'Brazilian' / 'track_00003'
    (bad / 'annotations.json').write_text(json.dumps({'plate_text': 'RLI-4088'}))
    broken = root / 'Scenario-A' / 'Brazilian' / 'track_00004'
    (broken / 'annotations.json').write_text('{\n"plate_text": ')  # said at its line
    write_png(str(root / 'test' / 'track_90000' / 'lr-001.png'), 16, 48)
    assert load_script('tools/split_tracks.py').main([str(root), '--val', '0.3']) == 0
    err = capsys.readouterr().err
    assert f"{broken / 'annotations.json'}:2: invalid JSON" in err
    assert ("warning: 3 listed track(s) would be refused by a training set (1 without a label: "
            "a release's blind test/ tracks? split its train/ folder)") in err
    assert (f"{bad / 'annotations.json'}: label 'RLI-4088' has character(s) ['-'] outside the "
            'dictionary') in err
    assert f"{root / 'test' / 'track_90000'}: no annotations.json" in err
    listed = _lines(root / 'splits' / 'train.txt') + _lines(root / 'splits' / 'val.txt')
    assert 'Scenario-A/Brazilian/track_00003' in listed  # listed all the same
    # a clean release says nothing of the kind
    assert load_script('tools/split_tracks.py').main([str(_release(tmp_path / 'clean'))]) == 0
    assert 'would be refused' not in capsys.readouterr().err


def test_labels_are_checked_against_the_training_set_s_dictionary(tmp_path, capsys):
    """A Chinese plate's tracks were all named as refused (their characters
    are not in the plate dictionary), with advice to fix them."""
    root = _release(tmp_path / 'lrlpr')
    for track in (root / 'Scenario-B' / 'Mercosur').iterdir():
        (track / 'annotations.json').write_text(json.dumps({'plate_text': '京A12345'}),
                                               encoding='utf-8')
    chars = tmp_path / 'chars.txt'
    chars.write_text(''.join(f'{c}\n' for c in '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ京'),
                     encoding='utf-8')
    tool = load_script('tools/split_tracks.py')
    assert tool.main([str(root), '--val', '0.3']) == 0
    err = capsys.readouterr().err
    assert 'warning: 3 listed track(s) would be refused' in err
    assert "checked against the plate dictionary (0-9, A-Z): --dict-file gives the " \
        "training set's" in err
    assert tool.main([str(root), '--val', '0.3', '--force', '--dict-file', str(chars)]) == 0
    assert 'would be refused' not in capsys.readouterr().err
    # a dictionary the training set could not read is said before the folders are walked
    chars.write_text('京\n京\n', encoding='utf-8')
    assert tool.main([str(root), '--force', '--dict-file', str(chars)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('split_tracks.py: --dict-file: ') and 'is there already' in err, err
    with pytest.raises(SystemExit):
        tool.main([str(root), '--case-sensitive'])
    assert '--case-sensitive goes with --dict-file' in capsys.readouterr().err


def test_a_full_disk_at_the_second_list_keeps_both_earlier_lists(tmp_path, capsys,
                                                                 monkeypatch):
    """train.txt was replaced, then val.txt failed: the new train list beside
    the old val list, validation tracks trained on; and a traceback."""
    from full_disk import fill_disk_for
    root = _release(tmp_path / 'train')
    tool = load_script('tools/split_tracks.py')
    assert tool.main([str(root), '--val', '0.3', '--seed', '3']) == 0
    splits = root / 'splits'
    before = {n: (splits / n).read_text() for n in ('train.txt', 'val.txt')}
    capsys.readouterr()
    with monkeypatch.context() as patch:
        fill_disk_for(patch, 'val.txt')
        assert tool.main([str(root), '--val', '0.3', '--seed', '4', '--force']) == 1
    err = capsys.readouterr().err
    assert f'split_tracks.py: cannot write {splits / "val.txt"}: No space left on device' \
        in err and 'Traceback' not in err
    assert {n: (splits / n).read_text() for n in before} == before
    assert sorted(p.name for p in splits.iterdir()) == ['train.txt', 'val.txt']


def test_the_tree_is_walked_once_and_each_label_read_once(tmp_path, monkeypatch, capsys):
    """At 100,000 tracks the tree was walked twice (the tool's look for
    tracks, then the set naming the refused ones), each track folder listed
    again and each annotations.json read twice (the set, then the plates on
    both sides): a quarter of the time. The lists and warnings stay."""
    from collections import Counter

    import dld.datasets.lrlpr_track_dataset as tracks
    root = _release(tmp_path / 'train')
    bad = root / 'Scenario-A' / 'Brazilian' / 'track_00003'
    (bad / 'annotations.json').write_text(json.dumps({'plate_text': 'RLI-4088'}))
    walks, reads = [], Counter()
    walk, read = tracks.walk_following_links, tracks.read_plate_text
    monkeypatch.setattr(tracks, 'walk_following_links',
                        lambda top: walks.append(top) or walk(top))
    monkeypatch.setattr(tracks, 'read_plate_text', lambda path: reads.update([path]) or read(path))
    assert load_script('tools/split_tracks.py').main([str(root), '--val', '0.2']) == 0
    assert walks == [str(root)]
    assert len(reads) == sum(GROUPS.values()) and set(reads.values()) == {1}
    # the refused track is named, and the plates on both sides found from the labels read
    err = capsys.readouterr().err
    assert "label 'RLI-4088' has character(s) ['-'] outside the dictionary" in err
    label = {t: json.loads((root / t / 'annotations.json').read_text())['plate_text']
             for t in _lines(root / 'splits' / 'train.txt') + _lines(root / 'splits' / 'val.txt')}
    both = {label[t] for t in _lines(root / 'splits' / 'train.txt')} & \
        {label[t] for t in _lines(root / 'splits' / 'val.txt')}
    assert both and f'{len(both)} plate(s) have tracks in both lists' in err
