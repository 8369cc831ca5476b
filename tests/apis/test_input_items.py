"""expand_inputs on label files: which frames the student is given."""
import os.path as osp

import numpy as np
import pytest
from log_records import current_log_records
from plate_files import write_png

from dld.apis import expand_inputs

LABELS = (
    'a/lr-1.png,a/lr-2.png|a/hr-1.png,a/hr-2.png\tAB12\n'
    'b/lr-1.png\tCD34\n'  # LR only
    'c/lr-1.png|c/hr-1.png\tEF56\n'
)


@pytest.fixture
def label_file(tmp_path):
    path = tmp_path / 'plates.txt'
    path.write_text(LABELS)
    return str(path)


def test_lr_stream_gives_every_lr_frame_with_its_label(label_file):
    items = expand_inputs(label_file)
    root = osp.dirname(label_file)
    assert [(i.path, i.gt_text, i.frame_idx) for i in items] == [
        (osp.join(root, 'a/lr-1.png'), 'AB12', 0), (osp.join(root, 'a/lr-2.png'), 'AB12', 1),
        (osp.join(root, 'b/lr-1.png'), 'CD34', 0), (osp.join(root, 'c/lr-1.png'), 'EF56', 0)]


def test_hr_stream_gives_the_hr_frames_and_an_error_for_lr_only_tracks(label_file):
    items = expand_inputs(label_file, stream='hr')
    root = osp.dirname(label_file)
    assert [(i.path, i.gt_text, i.track_id) for i in items if not i.error] == [
        (osp.join(root, 'a/hr-1.png'), 'AB12', 'a'), (osp.join(root, 'a/hr-2.png'), 'AB12', 'a'),
        (osp.join(root, 'c/hr-1.png'), 'EF56', 'c')]
    [lr_only] = [i for i in items if i.error]
    assert lr_only.source == f'{label_file}:2' and 'LR-only track' in lr_only.error
    # The records come in the file's order, the refused line between its neighbours.
    assert [i.source for i in items][2] == f'{label_file}:2'
    assert [i.track_id for i in items] == ['a', 'a', 'b', 'c']  # its track: not read


def test_a_line_the_set_cannot_take_is_an_error_item_not_a_smaller_count(tmp_path):
    path = tmp_path / 'words.txt'
    path.write_text('a/lr-1.png\tAB12\nb/lr-1.png\tHELLO WORLD\n'
                    'c/lr-1.png,c/lr-2.png|c/hr-1.png\tCD34\nd/lr-1.png\tEF56\n')
    items = expand_inputs(str(path))
    assert [i.path for i in items if not i.error] == [str(tmp_path / 'a/lr-1.png'),
                                                      str(tmp_path / 'd/lr-1.png')]
    assert [i.path or i.source for i in items] == [
        str(tmp_path / 'a/lr-1.png'), f'{path}:2', f'{path}:3', str(tmp_path / 'd/lr-1.png')]
    errors = {i.source: i.error for i in items if i.error}
    assert set(errors) == {f'{path}:2', f'{path}:3'}
    assert "[' ']" in errors[f'{path}:2'] and 'not read' in errors[f'{path}:2']
    # each refused line is a track of its own, as the set names it, so that
    # the track votes (a challenge's CSV) list it as not read
    assert [i.track_id for i in items] == ['a', 'b', 'c', 'd']
    from dld.apis import PlateRecognizer, vote_tracks
    records = [PlateRecognizer.error_record(i, 'InputError', i.error) if i.error else
               dict(track_id=i.track_id, frame_idx=i.frame_idx, text='AB12', confidence=0.5,
                    gflops=1e-3, gt_text=i.gt_text, error=None) for i in items]
    tracks = {t['track_id']: t for t in vote_tracks(records)}
    assert [tracks[t]['text'] for t in 'abcd'] == ['AB12', None, None, 'AB12']


def test_a_label_typed_after_spaces_is_an_error_item_naming_its_line(tmp_path):
    """Without a TAB the label became part of the last path: an HR path the
    LR student never opens, so the line was read as an unlabelled track."""
    for name in ('a/lr-1.png', 'a/hr-1.png', 'b/lr-1.png', 'c/lr 1.png'):
        write_png(str(tmp_path / name), 20, 60)
    path = tmp_path / 'test.txt'
    path.write_text('a/lr-1.png|a/hr-1.png    AB12\n'  # spaces for the TAB
                    'b/lr-1.png\tCD34\n'
                    'c/lr 1.png\n'  # unlabelled, a space in its file name
                    'd/lr-1.png\n'  # unlabelled, missing: an error when it is read
                    'b/lr-1.png  NO PARKING\n')  # a label of two words
    items = expand_inputs(str(path))
    assert [i.path or i.source for i in items] == [
        f'{path}:1', str(tmp_path / 'b/lr-1.png'), str(tmp_path / 'c/lr 1.png'),
        str(tmp_path / 'd/lr-1.png'), f'{path}:5']
    assert "'b/lr-1.png  NO PARKING' is no file, but 'b/lr-1.png' is one" in items[4].error
    assert items[0].error == ("label line not read: no TAB before the label: 'a/hr-1.png    "
                              "AB12' is no file, but 'a/hr-1.png' is one; a label file puts a "
                              'TAB between the image paths and the label')
    assert [i.error for i in items[1:4]] == [None, None, None]
    # refused before its paths were read: named by its line, as the set
    # names a line whose frames share no folder
    assert (items[0].track_id, items[4].track_id) == ('line1', 'line5')


def test_a_refused_lines_track_is_not_a_later_folder_of_its_name(tmp_path):
    """A folder named line1 is another track than the refused line 1."""
    write_png(str(tmp_path / 'line1' / 'lr-1.png'), 20, 60)
    path = tmp_path / 'test.txt'
    path.write_text('a/lr-1.png\tAB12\tCD34\n'  # two TABs: refused before its paths
                    'line1/lr-1.png\tEF56\n')
    items = expand_inputs(str(path))
    assert [(i.track_id, bool(i.error)) for i in items] == [('line1', True), ('line1#2', False)]


def test_a_label_file_without_hr_frames_is_an_error_item_a_line_on_the_hr_stream(tmp_path):
    path = tmp_path / 'lr_only.txt'
    path.write_text('b/lr-1.png\tCD34\nc/lr-1.png\tEF56\n')
    items = expand_inputs(str(path), stream='hr')
    assert [i.source for i in items] == [f'{path}:1', f'{path}:2']
    assert all('LR-only track' in i.error and i.path is None for i in items)
    # the error named load_hr=False, no setting of inference: it says what the model reads
    assert "this set reads the HR crop only (its LoadPlateImages has with_lr=False: a " \
        "teacher, or the efficiency setting's student); give the track's HR frames" \
        in items[0].error and 'load_hr' not in items[0].error


def test_a_label_file_none_of_whose_images_is_there_says_where_they_were_looked_for(
        label_file):
    """Each image's 'no such file' record said nothing of the folder its
    path was read from (the label file's own)."""
    from unittest import mock
    with mock.patch('mmengine.logging.print_log') as log:
        expand_inputs(label_file)
    said = [c.args[0] for c in log.call_args_list if 'none of the' in c.args[0]]
    first = osp.join(osp.dirname(label_file), 'a/lr-1.png')
    assert said == [f'{label_file}: none of the 4 image(s) it lists is there, read relative to '
                    f"its folder {osp.dirname(label_file)} (a label file's paths are relative to "
                    f"the file's own folder), e.g. {first}"]


def test_a_label_file_kept_apart_from_the_data_root_names_it(tmp_path):
    """A label file in a folder of lists whose paths are relative to the
    config's data_root: test.py read it, infer.py said only 'no such file'
    for each image some of which were there (an own-data journey)."""
    from unittest import mock

    import cv2
    import numpy as np
    root = tmp_path / 'data'
    for name in ('a/lr-1.png', 'b/lr-1.png'):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / name), np.zeros((8, 24, 3), np.uint8))
    lists = root / 'lists'
    lists.mkdir()
    (lists / 'a').mkdir()  # one image of the lists' folder is there, by chance
    cv2.imwrite(str(lists / 'a' / 'lr-1.png'), np.zeros((8, 24, 3), np.uint8))
    (lists / 'val.txt').write_text('a/lr-1.png\tAB12\nb/lr-1.png\tCD34\n')
    with mock.patch('mmengine.logging.print_log') as log:
        items = expand_inputs(str(lists / 'val.txt'), dict(data_root=str(root)))
    assert [i.path for i in items] == [str(lists / 'a/lr-1.png'), str(lists / 'b/lr-1.png')]
    said = [c.args[0] for c in log.call_args_list if 'data_root' in c.args[0]]
    assert said == [f"{lists / 'val.txt'}: 1 of the 2 image(s) it lists are not beside it but "
                    f"below the config's data_root {root}, e.g. b/lr-1.png: a label file given "
                    "here is read relative to its own folder (tools/test.py reads the config's "
                    'from its data_root); put the file in the data root, or its paths relative '
                    'to its folder']


def test_a_label_file_that_cannot_be_read_is_one_error_item(tmp_path):
    (tmp_path / 'comments.txt').write_text('# nothing\n')
    [item] = expand_inputs(str(tmp_path / 'comments.txt'))
    assert item.error.startswith('cannot read label file') and item.source.endswith('.txt')


def test_unknown_stream_is_refused(label_file):
    with pytest.raises(ValueError, match='stream'):
        expand_inputs(label_file, stream='both')


# ---------------------------------------------------------------- track ids
def _images(root, *rel_paths):
    import cv2
    paths = []
    for rel in rel_paths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.zeros((20, 60, 3), np.uint8))
        paths.append(str(path))
    return paths


def test_same_named_tracks_of_two_folders_stay_two_tracks(tmp_path):
    _images(tmp_path, 'camA/track_001/f0.png', 'camA/track_001/f1.png',
            'camB/track_001/f0.png', 'camB/track_001/f1.png')
    items = expand_inputs([str(tmp_path / 'camA'), str(tmp_path / 'camB')])
    assert [(i.track_id, i.frame_idx) for i in items] == [
        ('camA/track_001', 0), ('camA/track_001', 1),
        ('camB/track_001', 0), ('camB/track_001', 1)]


def test_track_votes_of_two_cameras_are_not_mixed(tmp_path):
    from dld.apis import vote_tracks
    _images(tmp_path, 'camA/track_001/f0.png', 'camB/track_001/f0.png')
    items = expand_inputs([str(tmp_path / 'camA'), str(tmp_path / 'camB')])
    recs = [dict(track_id=i.track_id, frame_idx=i.frame_idx, confidence=0.9, gflops=0.1,
                 text='A' if '/camA/' in i.path else 'B', error=None) for i in items]
    assert [(t['track_id'], t['text'], t['num_frames']) for t in vote_tracks(recs)] == [
        ('camA/track_001', 'A', 1), ('camB/track_001', 'B', 1)]


def test_records_of_ones_own_need_only_track_text_and_confidence():
    """vote_tracks on hand-made records raised KeyError 'frame_idx' (and
    'error', 'gflops'): the recognizer's records hold them, a user's need not."""
    from dld.apis import vote_tracks
    recs = [dict(track_id='t1', text=text, confidence=c)
            for text, c in (('ABC1234', 0.9), ('ABC1284', 0.4), ('ABC1234', 0.8))]
    (track, ) = vote_tracks(recs)
    assert (track['text'], track['votes'], track['num_read']) == ('ABC1234', 2, 3)
    assert track['mean_gflops'] is None


def test_single_images_of_same_named_folders_are_two_tracks(tmp_path):
    paths = _images(tmp_path, 'x/plates/a.png', 'y/plates/a.png')
    assert [(i.track_id, i.frame_idx) for i in expand_inputs(paths)] == [
        ('x/plates', 0), ('y/plates', 0)]


def test_single_images_of_one_folder_are_frames_of_one_track(tmp_path):
    paths = _images(tmp_path, 'plates/a.png', 'plates/b.png')
    assert [(i.track_id, i.frame_idx) for i in expand_inputs(paths)] == [
        ('plates', 0), ('plates', 1)]


def test_track_ids_stay_short_when_nothing_collides(tmp_path):
    _images(tmp_path, 'cam/track_001/f0.png', 'cam/track_002/f0.png', 'cam/top.png')
    items = expand_inputs(str(tmp_path / 'cam'))
    assert [(osp.basename(i.path), i.track_id) for i in items] == [
        ('top.png', 'cam'), ('f0.png', 'track_001'), ('f0.png', 'track_002')]


def test_same_track_of_two_label_files_stays_two_tracks(tmp_path):
    for name in ('day', 'night'):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'plates.txt').write_text('a/lr-1.png,a/lr-2.png\tAB12\n')
    items = expand_inputs([str(tmp_path / 'day' / 'plates.txt'),
                           str(tmp_path / 'night' / 'plates.txt')])
    assert [(i.track_id, i.frame_idx) for i in items] == [
        ('day/plates.txt/a', 0), ('day/plates.txt/a', 1),
        ('night/plates.txt/a', 0), ('night/plates.txt/a', 1)]


def test_a_track_root_gives_shards_of_one_tree_the_ids_of_one_run_over_it(tmp_path):
    """Without one, a run over camera 0 alone named its tracks 'trk0000',
    the run over both 'cam00/trk0000': sharded runs' votes did not join."""
    _images(tmp_path, 'big/cam00/trk0000/f0.png', 'big/cam00/trk0001/f0.png',
            'big/cam01/trk0000/f0.png', 'big/top.png')
    root = str(tmp_path / 'big')

    def ids(*inputs):
        return [i.track_id for i in expand_inputs([str(tmp_path / p) for p in inputs],
                                                  track_root=root)]
    whole = ids('big')
    assert whole == ['.', 'cam00/trk0000', 'cam00/trk0001', 'cam01/trk0000']
    shards = ids('big/cam00') + ids('big/cam01') + ids('big/top.png')
    assert sorted(shards) == sorted(whole)
    assert [i.track_id for i in expand_inputs(str(tmp_path / 'big/cam00'))] == [
        'trk0000', 'trk0001']  # without a root: as short as the call allows


def test_a_track_root_names_label_file_tracks_by_the_files_path(tmp_path):
    (tmp_path / 'day').mkdir()
    (tmp_path / 'day' / 'plates.txt').write_text('a/lr-1.png,a/lr-2.png\tAB12\n')
    items = expand_inputs(str(tmp_path / 'day' / 'plates.txt'), track_root=str(tmp_path))
    assert [(i.track_id, i.frame_idx) for i in items] == [
        ('day/plates.txt/a', 0), ('day/plates.txt/a', 1)]


def test_in_memory_tracks_keep_their_id_beside_a_track_root(tmp_path):
    paths = _images(tmp_path, 'cam/a.png')
    items = expand_inputs([paths[0], np.zeros((20, 60, 3), np.uint8)], memory_track=True,
                          track_root=str(tmp_path))
    assert [i.track_id for i in items] == ['cam', 'in-memory']


@pytest.mark.parametrize('root, said', [('elsewhere', 'is not below the track root'),
                                        ('missing', 'no such folder')])
def test_a_track_root_above_no_input_is_refused_before_reading(tmp_path, root, said):
    _images(tmp_path, 'cam/a.png')
    (tmp_path / 'elsewhere').mkdir()
    with pytest.raises(ValueError, match=said):
        expand_inputs(str(tmp_path / 'cam'), track_root=str(tmp_path / root))


# ------------------------------------------------------ ICPR track folders
def _icpr_release(root):
    """Two labelled tracks with LR and HR frames, one unlabelled LR-only
    track (the blind test release), and a loose image next to them."""
    import json
    a, b = 'S-A/Brazilian/track_00001', 'S-B/Mercosur/track_00002'
    _images(root, *[f'{t}/{k}-{i:03d}.png' for t in (a, b) for k in ('lr', 'hr')
                    for i in (1, 2, 10)],
            'blind/track_00003/lr-001.jpg', 'blind/track_00003/lr-002.jpg', 'loose.png')
    (root / a / 'annotations.json').write_text(json.dumps(
        {'plate_layout': 'Brazilian', 'plate_text': 'avl5215', 'corners': {}}))
    (root / b / 'annotations.json').write_bytes(  # a BOM, no optional fields
        b'\xef\xbb\xbf' + json.dumps({'plate_text': 'ABC1D23'}).encode())
    return a, b


def test_an_icpr_folder_gives_the_lr_frames_in_order_with_their_labels(tmp_path):
    """Not the HR frames too: lr-K and hr-K are one frame, and an LR student
    voting over both would read each frame twice, half of them as HR."""
    a, b = _icpr_release(tmp_path)
    items = expand_inputs(str(tmp_path))
    got = [(osp.relpath(i.path, tmp_path), i.track_id, i.frame_idx, i.gt_text) for i in items]
    assert got == [
        ('loose.png', osp.basename(str(tmp_path)), 0, None),
        (f'{a}/lr-001.png', a, 0, 'AVL5215'), (f'{a}/lr-002.png', a, 1, 'AVL5215'),
        (f'{a}/lr-010.png', a, 2, 'AVL5215'),
        (f'{b}/lr-001.png', b, 0, 'ABC1D23'), (f'{b}/lr-002.png', b, 1, 'ABC1D23'),
        (f'{b}/lr-010.png', b, 2, 'ABC1D23'),
        ('blind/track_00003/lr-001.jpg', 'blind/track_00003', 0, None),
        ('blind/track_00003/lr-002.jpg', 'blind/track_00003', 1, None)]


def test_other_images_of_a_track_folder_are_said_not_read(tmp_path):
    """A folder holding lr-K frames is a track: its one.png was left out
    without a word ('2/2 image(s) read')."""
    _images(tmp_path, 'mixed/lr-001.png', 'mixed/lr-002.png', 'mixed/one.png', 'plain/a.png')
    # an ending DLD does not read, named as a frame: not said either (an own-data journey)
    (tmp_path / 'mixed' / 'lr-003.jfif').write_bytes(b'\xff\xd8\xff')
    with current_log_records() as records:
        items = expand_inputs(str(tmp_path))
    assert [osp.basename(i.path) for i in items] == ['lr-001.png', 'lr-002.png', 'a.png']
    [said] = [r.getMessage() for r in records if 'not read' in r.getMessage()]
    assert '2 file(s) in track folders' in said and str(tmp_path / 'mixed/lr-003.jfif') in said
    with current_log_records() as records:  # a folder of frames only: nothing to say
        expand_inputs(str(tmp_path / 'plain'))
    assert not [r for r in records if 'not read' in r.getMessage()]


def test_an_icpr_folder_gives_the_hr_frames_where_the_model_reads_hr(tmp_path):
    a, _ = _icpr_release(tmp_path)
    items = expand_inputs(str(tmp_path / 'S-A'), stream='hr')
    assert [(osp.basename(i.path), i.frame_idx, i.gt_text) for i in items] == [
        ('hr-001.png', 0, 'AVL5215'), ('hr-002.png', 1, 'AVL5215'),
        ('hr-010.png', 2, 'AVL5215')]
    [blind] = expand_inputs(str(tmp_path / 'blind'), stream='hr')
    assert blind.path is None and 'without hr-* frames' in blind.error
    # in its track, so the track's vote says it was not read (not left out)
    assert blind.track_id == 'track_00003'


def test_a_track_folder_without_the_lr_frames_is_one_error_item_for_an_lr_model(tmp_path):
    """Its HR crops, read by an LR student, unlabelled, were answers (wrong
    ones) instead of one error saying why."""
    a, _ = _icpr_release(tmp_path)
    for lr in (tmp_path / a).glob('lr-*'):
        lr.unlink()
    [item] = expand_inputs(str(tmp_path / a))
    assert item.path is None and 'without lr-* frames' in item.error
    assert item.gt_text == 'AVL5215' and item.track_id


def test_a_track_that_could_not_be_read_is_still_answered(tmp_path):
    from dld.apis import PlateRecognizer, vote_tracks
    a, _ = _icpr_release(tmp_path)
    _images(tmp_path, f'{a}/lr-2.jpg')  # lr-002.png is there too: the track is refused
    items = expand_inputs(str(tmp_path))
    records = [PlateRecognizer.error_record(i, 'InputError', i.error) if i.error else
               dict(track_id=i.track_id, frame_idx=i.frame_idx, text='ABC1D23', confidence=0.5,
                    gflops=1e-3, gt_text=i.gt_text, error=None) for i in items]
    tracks = {t['track_id']: t for t in vote_tracks(records)}
    assert tracks[a]['text'] is None and tracks[a]['num_read'] == 0
    assert tracks[a]['gt_text'] == 'AVL5215'  # labelled: it counts as not read right


def test_a_frame_given_by_path_takes_its_tracks_label(tmp_path):
    a, _ = _icpr_release(tmp_path)
    [hr, loose] = expand_inputs([str(tmp_path / a / 'hr-002.png'), str(tmp_path / 'loose.png')])
    assert (hr.gt_text, loose.gt_text) == ('AVL5215', None)


def test_a_track_label_outside_the_dictionary_is_refused_as_a_label_files_line(tmp_path):
    """'RLI-4088' was scored as a label the model could never read (every
    image a misread) where the datasets and a label file's line refuse it."""
    import json
    a, b = _icpr_release(tmp_path)
    (tmp_path / a / 'annotations.json').write_text(json.dumps({'plate_text': 'rli-4088'}))
    items = expand_inputs(str(tmp_path))
    [refused] = [i for i in items if i.error]
    assert refused.source == str(tmp_path / a) and refused.path is None
    assert "label 'rli-4088' has character(s) ['-'] outside the dictionary" in refused.error
    assert str(tmp_path / a / 'annotations.json') in refused.error
    assert refused.gt_text is None and refused.track_id == a  # in its track: voted as not read
    assert {i.gt_text for i in items if i.track_id == b} == {'ABC1D23'}
    [frame] = expand_inputs(str(tmp_path / a / 'lr-002.png'))  # a frame given by path
    assert frame.path is None and 'outside the dictionary' in frame.error


def test_a_broken_annotations_json_leaves_the_frames_unlabelled_and_says_so(tmp_path):
    import logging
    from unittest import mock
    a, _ = _icpr_release(tmp_path)
    (tmp_path / a / 'annotations.json').write_text('{"plate_text": ')
    with mock.patch('mmengine.logging.print_log') as log:
        items = expand_inputs(str(tmp_path / a))
    assert [(i.gt_text, i.error) for i in items] == [(None, None)] * 3
    # once for the track: the accuracy over labelled images leaves it out
    [call] = [c for c in log.call_args_list if c.kwargs.get('level') == logging.WARNING]
    assert call.args[0].startswith(f"{tmp_path / a / 'annotations.json'}:1: invalid JSON")
    assert call.args[0].endswith('its frames are read unlabelled')


def test_a_symlinked_scenario_folder_is_read_as_the_dataset_reads_it(tmp_path):
    """LRLPRTrackDataset follows symlinked folders; inference on the same
    folder must read the same tracks, and a link back up the tree once."""
    import os
    a, _ = _icpr_release(tmp_path / 'elsewhere')
    release = tmp_path / 'release'
    release.mkdir()
    os.symlink(tmp_path / 'elsewhere' / 'S-A', release / 'S-A')
    os.symlink(release, release / 'S-A' / 'Brazilian' / 'loop')  # back up the tree
    items = expand_inputs(str(release))
    assert [(i.track_id, osp.basename(i.path)) for i in items] == [
        (a, 'lr-001.png'), (a, 'lr-002.png'), (a, 'lr-010.png')]


def test_a_link_to_the_folder_read_or_above_it_is_not_followed(tmp_path):
    """A link to / in a scenario folder read every image of the machine
    (159266, through /proc and other users' folders; a security review)."""
    import os
    from unittest import mock

    from dld.deploy.onnx_reader import _image_folders
    a, _ = _icpr_release(tmp_path / 'release')
    brazil = tmp_path / 'release' / 'S-A' / 'Brazilian'
    _images(tmp_path, 'beside/x.png')  # beside the folder read: not its data
    release = str(tmp_path / 'release')

    def read():
        return ([(i.track_id, i.path) for i in expand_inputs(release)],
                list(_image_folders(release)))  # the ONNX reader's own walk (no DLD)
    unlinked = read()
    for name, target in (('root', '/'), ('up', tmp_path), ('self', tmp_path / 'release')):
        os.symlink(target, brazil / name)
    with mock.patch('mmengine.logging.print_log') as log:
        assert read() == unlinked
    said = [c.args[0] for c in log.call_args_list if 'not followed' in c.args[0]]
    assert len(said) == 3 and said[0].startswith(f"{brazil / 'root'} links to /, which holds ")


def test_a_track_folder_with_a_frame_number_twice_is_one_error_item(tmp_path):
    a, _ = _icpr_release(tmp_path)
    _images(tmp_path, f'{a}/lr-2.jpg')  # lr-002.png is there too
    items = expand_inputs(str(tmp_path / a))
    (item, ) = items
    assert item.path is None and item.source == str(tmp_path / a) and item.track_id
    assert 'frame number(s) [2] twice (lr-002.png, lr-2.jpg)' in item.error


def test_absolute_paths_elsewhere_are_named_by_their_folder_not_by_dot_dots(tmp_path):
    # The quickstart's sample.txt: absolute paths into another folder.
    elsewhere = tmp_path / 'data' / 'test'
    labels = tmp_path / 'out' / 'sample.txt'
    labels.parent.mkdir()
    labels.write_text(''.join(
        f'{elsewhere}/{t}/lr-1.png,{elsewhere}/{t}/lr-2.png\tAB12\n' for t in ('t0', 't1')))
    items = expand_inputs(str(labels))
    assert [(i.track_id, i.frame_idx) for i in items] == [
        ('t0', 0), ('t0', 1), ('t1', 0), ('t1', 1)]
    from dld.datasets import PairedPlateDataset
    ds = PairedPlateDataset(ann_file=str(labels), data_root=str(labels.parent), pipeline=[],
                            check_files=False, test_mode=True, frames='all')
    assert ds.get_data_info(0)['track_id'] == f'{elsewhere}/t0'


def test_hr_only_lines_are_read_by_a_model_reading_hr_and_refused_by_one_reading_lr(tmp_path):
    labels = tmp_path / 'crops.txt'
    labels.write_text('|crops/a.png\tAB12\n|crops/b.png,crops/c.png\tCD34\n'
                      'lr/d.png|crops/d.png\tEF56\n')
    items = expand_inputs(str(labels), stream='hr')
    assert [(osp.basename(i.path), i.gt_text, i.error) for i in items] == [
        ('a.png', 'AB12', None), ('b.png', 'CD34', None), ('c.png', 'CD34', None),
        ('d.png', 'EF56', None)]
    refused = expand_inputs(str(labels), stream='lr')
    assert [i.source for i in refused[:2]] == [f'{labels}:1', f'{labels}:2']
    assert all('HR-only track' in i.error for i in refused[:2])
    assert refused[2].path == str(tmp_path / 'lr' / 'd.png') and refused[2].error is None
    # every line refused: still one record a line, saying why
    labels.write_text('|crops/a.png\tAB12\n|crops/b.png,crops/c.png\tCD34\n')
    refused = expand_inputs(str(labels), stream='lr')
    assert [i.source for i in refused] == [f'{labels}:1', f'{labels}:2']
    assert all('HR-only track' in i.error for i in refused)


def test_frames_of_the_other_stream_given_by_path_are_warned_of_once(tmp_path):
    """An efficiency-setting student (it reads HR crops) given lr-001.png read
    the 15x45 frame upscaled without a word; its folder gives the HR frames."""
    for name in ('lr-001.png', 'lr-002.png', 'hr-001.png', 'other.png'):
        write_png(str(tmp_path / 't' / name), 8, 24)
    lr = [str(tmp_path / 't' / n) for n in ('lr-001.png', 'lr-002.png')]
    with current_log_records() as records:
        items = expand_inputs([*lr, str(tmp_path / 't' / 'other.png')], stream='hr')
    assert len(items) == 3  # read as given
    [said] = [r.getMessage() for r in records if 'frames (e.g.' in r.getMessage()]
    assert said.startswith(f'2 image(s) given by path are lr-* frames (e.g. {lr[0]}), but this '
                           'model reads the HR frame of a track')
    with current_log_records() as records:  # the model's own frames, or a folder: nothing
        expand_inputs([str(tmp_path / 't' / 'hr-001.png'), str(tmp_path / 't')], stream='hr')
        expand_inputs(lr, stream='lr')
    assert not [r for r in records if 'frames (e.g.' in r.getMessage()]


def test_voting_records_without_a_track_says_so():
    """A service reading one image a call got records without track_id, and
    vote_tracks returned [] without a word."""
    from dld.apis.plate_recognizer import vote_tracks
    recs = [dict(text='ABC1234', confidence=0.9, track_id=None, error=None)] * 2
    with current_log_records() as records:
        assert vote_tracks(recs) == []
    [said] = [r.getMessage() for r in records if 'track_id' in r.getMessage()]
    assert said.startswith('vote_tracks: none of the 2 record(s) has a track_id')
    with current_log_records() as records:  # some with a track: the others left out quietly
        assert len(vote_tracks(recs + [dict(recs[0], track_id='t')])) == 1
    assert not [r for r in records if 'track_id' in r.getMessage()]


def test_overlapping_inputs_are_said_to_read_their_images_again(tmp_path):
    """A track folder given with the folder above it was read, counted and
    voted twice, said only as a track of too many images (an own-data
    journey)."""
    _images(tmp_path, 'cam/t1/lr-001.png', 'cam/t1/lr-002.png', 'cam/t2/lr-001.png')
    with current_log_records() as records:
        items = expand_inputs([str(tmp_path / 'cam' / 't1'), str(tmp_path / 'cam')])
    assert len(items) == 5  # read as given: one record per image of each input
    [said] = [r.getMessage() for r in records if 'more than one input' in r.getMessage()]
    assert said.startswith(f"2 image(s) are given by more than one input, e.g. "
                           f"{tmp_path / 'cam' / 't1' / 'lr-001.png'} by "
                           f"'{tmp_path / 'cam' / 't1'}' and '{tmp_path / 'cam'}'")
    with current_log_records() as records:  # inputs apart: nothing to say
        expand_inputs([str(tmp_path / 'cam' / 't1'), str(tmp_path / 'cam' / 't2')])
    assert not [r for r in records if 'more than one input' in r.getMessage()]


def test_a_folder_of_lr_and_hr_images_named_otherwise_is_said_to_be_read_alike(tmp_path):
    """lr_001.jpg beside hr_001.jpg: not a track folder, so both were read
    and voted as one track of 10 images, said only as a large track."""
    _images(tmp_path, 'cam/lr_001.png', 'cam/hr_001.png', 'cam/lr_002.png', 'cam/hr_002.png')
    with current_log_records() as records:
        items = expand_inputs(str(tmp_path))
    assert len(items) == 4
    [said] = [r.getMessage() for r in records if 'side by side' in r.getMessage()]
    assert said.startswith(f"{tmp_path}: 1 folder(s) hold lr_* and hr_* images side by side, "
                           f"e.g. {tmp_path / 'cam'}: read as plain images, LR and HR crops "
                           'alike')
    assert 'of which the LR frames are read' in said
    _images(tmp_path, 'lr_only/lr_001.png', 'lr_only/lr_002.png')
    with current_log_records() as records:  # one stream: plain images, nothing to say
        expand_inputs(str(tmp_path / 'lr_only'))
    assert not [r for r in records if 'side by side' in r.getMessage()]


def test_track_votes_fold_case_as_the_metrics_do():
    """'Straße' voted as 'STRASSE' (str.upper), where TrackAccuracyMetric
    reads 'STRAßE' (a character's place kept; a data audit)."""
    from dld.apis import vote_tracks
    recs = [dict(track_id='t1', text=text, confidence=c)
            for text, c in (('straße', 0.5), ('STRAßE', 0.4), ('STRASSE', 0.95))]
    (track, ) = vote_tracks(recs)
    # two votes for the spelling with ß (one, folded), against one
    assert (track['text'], track['votes']) == ('straße', 2)


def test_a_folders_images_are_named_as_the_folder_was_given(tmp_path, monkeypatch):
    """Joined to the folder as given, as a file given is kept and as the
    ONNX reader names them: a relative folder's images were absolute, a
    relative file beside them not, in one call."""
    from dld.deploy.onnx_reader import expand_paths
    for name in ('a.png', 'sub/b.png'):
        write_png(str(tmp_path / 'imgs' / name))
    monkeypatch.chdir(tmp_path)
    items = expand_inputs(['imgs', 'imgs/a.png'])
    # the file read at its absolute path, one name for it from any directory
    assert [(i.source, i.path) for i in items] == [
        (p, str(tmp_path / p)) for p in (osp.join('imgs', 'a.png'),
                                         osp.join('imgs', 'sub', 'b.png'), 'imgs/a.png')]
    assert [p for p, _ in expand_paths(['imgs'])] == [i.source for i in items[:2]]
    # an absolute folder's are absolute
    assert expand_inputs([str(tmp_path / 'imgs')])[0].source == str(tmp_path / 'imgs' / 'a.png')
