"""LRLPRTrackDataset on a tiny ICPR-style tree written by the test."""
import json
import os

import pytest

from dld.datasets import LRLPRTrackDataset, PlateAnnotationError


@pytest.fixture
def icpr_root(tmp_path, png_writer):
    root = tmp_path / 'lrlpr'
    a = root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    b = root / 'train' / 'Scenario-B' / 'Mercosur' / 'track_00002'
    for k in range(1, 6):
        png_writer(str(a / f'lr-{k:03d}.png'), 20, 42)
        png_writer(str(a / f'hr-{k:03d}.png'), 40, 84)
        png_writer(str(b / f'lr-{k:03d}.jpg'), 20, 42)
        png_writer(str(b / f'hr-{k:03d}.jpg'), 40, 84)
    corners = {'lr-001.png': {'top-left': [1, 2], 'top-right': [40, 2],
                              'bottom-right': [40, 18], 'bottom-left': [1, 18]}}
    (a / 'annotations.json').write_text(json.dumps(
        {'plate_layout': 'Brazilian', 'plate_text': 'AVL5215', 'corners': corners}))
    (b / 'annotations.json').write_text(json.dumps({'plate_text': 'ABC1D23'}))  # no corners
    return root


def test_reads_png_and_jpg_tracks_without_optional_fields(icpr_root):
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='all')
    assert len(ds) == 10
    first, last = ds.get_data_info(0), ds.get_data_info(9)
    assert first['track_id'] == 'train/Scenario-A/Brazilian/track_00001'
    assert first['gt_text'] == 'AVL5215' and first['lr_path'].endswith('lr-001.png')
    assert first['hr_path'].endswith('hr-001.png')
    assert last['gt_text'] == 'ABC1D23' and last['hr_path'].endswith('hr-005.jpg')


def test_loads_through_a_pipeline(icpr_root):
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='first', pipeline=[
        dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')])
    out = ds[1]
    assert out['inputs'].shape == (3, 48, 144) and out['inputs_hr'].shape == (3, 48, 144)
    assert out['data_samples'].gt_text == 'ABC1D23'


def test_test_time_tracks_without_hr_or_labels(icpr_root):
    t = icpr_root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    for p in t.glob('hr-*'):
        p.unlink()
    (t / 'annotations.json').unlink()
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='all', test_mode=True,
                           allow_empty_text=True)
    assert ds.get_data_info(0)['gt_text'] == '' and ds.get_data_info(0)['hr_path'] is None


@pytest.mark.parametrize('annotations, says', [
    (None, 'track_00002: no annotations.json'),
    ({'text': 'ABC1D23'}, 'annotations.json: its plate_text is missing or empty'),
])
def test_a_training_track_without_its_label_says_which_file(icpr_root, annotations, says):
    """Not "empty label (set allow_empty_text=True for unlabelled inference
    data)", which sent a training folder's user the wrong way."""
    ann = icpr_root / 'train' / 'Scenario-B' / 'Mercosur' / 'track_00002' / 'annotations.json'
    if annotations is None:
        ann.unlink()
    else:
        ann.write_text(json.dumps(annotations))
    with pytest.raises(PlateAnnotationError, match=says) as info:
        LRLPRTrackDataset(data_root=str(icpr_root))
    assert 'a track to train or evaluate on needs its label' in str(info.value)


def test_unequal_frame_counts_name_the_track(icpr_root):
    t = icpr_root / 'train' / 'Scenario-B' / 'Mercosur' / 'track_00002'
    (t / 'hr-005.jpg').unlink()
    with pytest.raises(PlateAnnotationError, match=r'track_00002.*5 LR frames but 4 HR'):
        LRLPRTrackDataset(data_root=str(icpr_root))


def test_broken_json_names_file_and_line(icpr_root):
    t = icpr_root / 'train' / 'Scenario-B' / 'Mercosur' / 'track_00002'
    (t / 'annotations.json').write_text('{\n "plate_text": }')
    with pytest.raises(PlateAnnotationError, match=r'annotations.json:2: invalid JSON'):
        LRLPRTrackDataset(data_root=str(icpr_root))
    ds = LRLPRTrackDataset(data_root=str(icpr_root), strict=False, frames='first')
    assert len(ds) == 1 and ds.num_bad_annotations == 1


def test_track_list_file_selects_a_split(icpr_root):
    (icpr_root / 'val.txt').write_text('train/Scenario-B/Mercosur/track_00002\n')
    ds = LRLPRTrackDataset(data_root=str(icpr_root), ann_file='val.txt', frames='first')
    assert len(ds) == 1 and ds.get_data_info(0)['gt_text'] == 'ABC1D23'


def test_annotations_that_are_not_utf8_name_the_file(icpr_root):
    t = icpr_root / 'train' / 'Scenario-B' / 'Mercosur' / 'track_00002'
    (t / 'annotations.json').write_bytes(b'{\n "plate_text": "ABC\xe71D23"}')
    with pytest.raises(PlateAnnotationError, match=r'annotations.json:2: not valid UTF-8'):
        LRLPRTrackDataset(data_root=str(icpr_root))
    ds = LRLPRTrackDataset(data_root=str(icpr_root), strict=False, frames='first')
    assert len(ds) == 1 and ds.num_bad_annotations == 1


def test_byte_order_marks_in_annotations_and_track_list_are_dropped(icpr_root):
    t = icpr_root / 'train' / 'Scenario-B' / 'Mercosur' / 'track_00002'
    (t / 'annotations.json').write_bytes(b'\xef\xbb\xbf{"plate_text": "ABC1D23"}')
    (icpr_root / 'val.txt').write_bytes(b'\xef\xbb\xbftrain/Scenario-B/Mercosur/track_00002\n')
    ds = LRLPRTrackDataset(data_root=str(icpr_root), ann_file='val.txt', frames='first')
    assert len(ds) == 1 and ds.get_data_info(0)['gt_text'] == 'ABC1D23'


def test_a_utf16_track_list_is_refused_whole(icpr_root):
    (icpr_root / 'val.txt').write_text('train/Scenario-B/Mercosur/track_00002\n',
                                       encoding='utf-16')
    with pytest.raises(PlateAnnotationError, match=r'val.txt:1: the file is not UTF-8 text'):
        LRLPRTrackDataset(data_root=str(icpr_root), ann_file='val.txt', strict=False)


def test_a_track_list_line_that_is_not_utf8_is_skipped_when_not_strict(icpr_root):
    (icpr_root / 'val.txt').write_bytes(b'train/Scenario-B/Mercosur/track_00002\nx\xe9\n')
    with pytest.raises(PlateAnnotationError, match=r'val.txt:2: not valid UTF-8'):
        LRLPRTrackDataset(data_root=str(icpr_root), ann_file='val.txt')
    ds = LRLPRTrackDataset(data_root=str(icpr_root), ann_file='val.txt', strict=False,
                           frames='first')
    assert len(ds) == 1 and ds.num_bad_annotations == 1


def test_lr_and_hr_frames_with_other_numbers_name_them(icpr_root):
    t = icpr_root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    (t / 'hr-002.png').rename(t / 'hr-006.png')  # 5 of each, but not the same 5
    with pytest.raises(PlateAnnotationError,
                       match=r'track_00001: 5 LR frames but 5 HR frames, numbered otherwise '
                             r'\(lr-002 without HR; hr-006 without LR\)'):
        LRLPRTrackDataset(data_root=str(icpr_root))


def test_lr_and_hr_pair_by_frame_number(icpr_root, png_writer):
    t = icpr_root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    for k in (9, 10):  # numbers with a gap pair as well
        png_writer(str(t / f'lr-{k:03d}.png'), 20, 42)
        png_writer(str(t / f'hr-{k:03d}.png'), 40, 84)
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='all')
    pairs = [(os.path.basename(d['lr_path']), os.path.basename(d['hr_path']))
             for d in map(ds.get_data_info, range(len(ds)))]
    assert all(lr[3:] == hr[3:] for lr, hr in pairs) and len(pairs) == 12


def test_tracks_in_a_symlinked_folder_are_read(icpr_root, tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    (icpr_root / 'train' / 'Scenario-B').rename(elsewhere)
    (icpr_root / 'train' / 'Scenario-B').symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / 'loop').symlink_to(icpr_root, target_is_directory=True)  # walked once
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='first')
    assert [ds.get_data_info(i)['track_id'] for i in range(len(ds))] == [
        'train/Scenario-A/Brazilian/track_00001', 'train/Scenario-B/Mercosur/track_00002']


def test_hidden_folders_hold_no_tracks(icpr_root, tmp_path):
    """A notebook's checkpoint copy of a track, or an unfinished synthetic
    set, is not read as more tracks."""
    import shutil
    track = icpr_root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    shutil.copytree(track, track / '.ipynb_checkpoints')
    shutil.copytree(track, icpr_root / '.synth_partial' / 'train' / 'track_00009')
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='first')
    assert [ds.get_data_info(i)['track_id'] for i in range(len(ds))] == [
        'train/Scenario-A/Brazilian/track_00001', 'train/Scenario-B/Mercosur/track_00002']
    hidden_root = tmp_path / '.data'  # the folder asked for is read, hidden or not
    shutil.copytree(track, hidden_root / 'track_00001')
    assert len(LRLPRTrackDataset(data_root=str(hidden_root), frames='first')) == 1


def test_a_data_root_without_tracks_is_an_error_naming_it(tmp_path):
    (tmp_path / 'empty' / 'train').mkdir(parents=True)
    with pytest.raises(PlateAnnotationError,
                       match=r'empty: LRLPRTrackDataset found no track to read\. A track is a '
                             r'folder holding lr-\* frames'):
        LRLPRTrackDataset(data_root=str(tmp_path / 'empty'), test_mode=True,
                          allow_empty_text=True)


def test_a_missing_track_list_says_that_ann_file_may_be_left_empty(icpr_root):
    """A config for the ICPR folders that inherits a shipped config inherits
    its paired set's ann_file='train.txt': the error says how to read the
    folders without a list."""
    with pytest.raises(FileNotFoundError, match='train.txt') as info:
        LRLPRTrackDataset(data_root=str(icpr_root / 'train'), ann_file='train.txt')
    assert "ann_file=''" in str(info.value)
    assert len(LRLPRTrackDataset(data_root=str(icpr_root / 'train'), ann_file='')) == 2


def test_frames_of_any_image_ending_are_read_and_a_labelled_folder_without_lr_frames_is_named(
        icpr_root, png_writer):
    """A .bmp frame was dropped silently (training and inference alike), and
    a labelled folder whose frames are named otherwise, or that holds HR
    frames alone, was passed over without a word."""
    a = icpr_root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    png_writer(str(a / 'lr-006.bmp'), 20, 42)
    png_writer(str(a / 'hr-006.bmp'), 40, 84)
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='all')
    assert len(ds) == 11 and ds.get_data_info(5)['lr_path'].endswith('lr-006.bmp')
    c = icpr_root / 'train' / 'Scenario-C' / 'track_00003'
    png_writer(str(c / 'lr_001.png'), 20, 42)
    (c / 'annotations.json').write_text(json.dumps({'plate_text': 'ABC1D23'}))
    d = icpr_root / 'train' / 'Scenario-D' / 'track_00004'
    png_writer(str(d / 'hr-001.png'), 40, 84)
    with pytest.raises(PlateAnnotationError, match=(
            r'track_00003: no lr-\* frames \(its images are named otherwise, e\.g\. lr_001\.png: '
            r'a frame is lr-<N> or hr-<N> with an image ending, \.png \.jpg')):
        LRLPRTrackDataset(data_root=str(icpr_root), frames='all')
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='all', strict=False)
    assert len(ds) == 11 and ds.num_bad_annotations == 2  # skipped, counted
    assert [str(e) for e in ds.bad_annotations] == [
        f'{c}: no lr-* frames (its images are named otherwise, e.g. lr_001.png: a frame is '
        'lr-<N> or hr-<N> with an image ending, .png .jpg .jpeg .bmp .tif .tiff .webp .ppm '
        '.pgm .pbm .jp2)',
        f'{d}: no lr-* frames (its hr-* frames have no LR frames to pair with)']


def test_lr_frames_named_otherwise_beside_hr_frames_are_named_as_the_cause(icpr_root,
                                                                          png_writer):
    """'lr_001.png' beside 'hr-001.png' was said to be HR frames without LR
    ones, hiding the names that were the cause."""
    from dld.datasets.lrlpr_track_dataset import no_lr_frames
    assert no_lr_frames(['lr_001.png', 'lr_002.png', 'hr-001.png', 'hr-002.png']) == (
        'its hr-* frames have no LR frames to pair with; it holds images named otherwise, '
        'e.g. lr_001.png, lr_002.png: a frame is lr-<N> or hr-<N> with an image ending, '
        '.png .jpg .jpeg .bmp .tif .tiff .webp .ppm .pgm .pbm .jp2')
    assert no_lr_frames(['hr-001.png', 'annotations.json']) == (
        'its hr-* frames have no LR frames to pair with')


def test_a_track_list_naming_a_folder_twice_or_the_one_above_a_track_names_its_lines(
        icpr_root):
    """The same line twice was refused as 'given already by <its own
    annotations.json>'; a scenario folder as 'no annotations.json'."""
    listing = icpr_root / 'list.txt'
    listing.write_text('train/Scenario-A/Brazilian/track_00001\n'
                       'train/Scenario-A/Brazilian/track_00001/\n'
                       'train/Scenario-B\n')
    ds = LRLPRTrackDataset(data_root=str(icpr_root), ann_file=str(listing), frames='first',
                           strict=False)
    assert len(ds) == 1
    assert [str(e) for e in ds.bad_annotations] == [
        f"{listing}:2: track folder 'train/Scenario-A/Brazilian/track_00001/' is listed "
        'already, at line 1; each track of a set needs its own line',
        f"{icpr_root / 'train' / 'Scenario-B'}: no lr-* frames (it holds no image); a track "
        'is the folder holding the frames, not one above it']


def test_files_named_like_frames_that_are_no_frames_are_said_not_read(icpr_root, png_writer):
    """lr-003.jfif, a copy's lr-002 (1).png and hr-001 - Kopie.png were left
    out without a word (an own-data journey: frame 3 lost)."""
    from log_records import current_log_records
    t = icpr_root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    for name in ('lr-002 (1).png', 'hr-001 - Kopie.png'):
        png_writer(str(t / name), 20, 42)
    for name in ('lr-006.jfif', 'hr-006.jfif'):  # a JPEG of an ending DLD does not read
        (t / name).write_bytes((t / 'lr-001.png').read_bytes())
    (t / 'notes.txt').write_text('seen on the A7')  # not an image, not frame-like: quiet
    with current_log_records() as records:
        ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='all')
        assert len(ds) == 10  # the five frames of each track, as before
    [said] = [r.getMessage() for r in records if 'not read, being no frame' in r.getMessage()]
    assert said.startswith(f'{icpr_root}: 4 file(s) in track folders are not read, being no '
                           f"frame, e.g. {t / 'hr-001 - Kopie.png'}: a frame is lr-<N> or hr-<N>")
    with current_log_records() as records:  # a tree of frames alone: nothing to say
        for name in ('lr-006.jfif', 'hr-006.jfif', 'lr-002 (1).png', 'hr-001 - Kopie.png'):
            (t / name).unlink()
        len(LRLPRTrackDataset(data_root=str(icpr_root), frames='all'))
    assert not [r for r in records if 'being no frame' in r.getMessage()]


def test_a_frame_that_does_not_decode_in_test_mode_is_told_to_be_fixed_in_its_track(icpr_root):
    """The hint said to remove its line, which a track folder has none of."""
    from dld.datasets import ImageLoadError
    t = icpr_root / 'train' / 'Scenario-A' / 'Brazilian' / 'track_00001'
    (t / 'lr-002.png').write_bytes(b'not a png')
    ds = LRLPRTrackDataset(data_root=str(icpr_root), frames='all', test_mode=True,
                           pipeline=[dict(type='LoadPlateImages', with_hr=False)])
    with pytest.raises(ImageLoadError) as err:
        ds[1]
    assert 'fix the image or remove the frame from its track (its lr-K and hr-K files both), ' \
        'or pass max_retry > 0' in \
        str(err.value)
    assert 'its line' not in str(err.value)
