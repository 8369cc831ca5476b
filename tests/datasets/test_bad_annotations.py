"""Bad annotations and broken pipelines are named where the user can fix them:
the file, the track folder, the results key the transform needed."""
import json

import numpy as np
import pytest

from dld.datasets import LRLPRTrackDataset, PairedPlateDataset, PlateAnnotationError
from dld.datasets.transforms import DegradeHR, LoadPlateImages, PackPlateInputs


@pytest.fixture
def track(tmp_path, png_writer):
    """``track(name, annotations) -> folder``: a 2-frame LR/HR track folder
    below ``track.root`` whose ``annotations.json`` holds the text ``annotations``."""
    root = tmp_path / 'lrlpr'

    def make(name='track_00001', annotations='{"plate_text": "ABC1234"}'):
        folder = root / name
        for k in (1, 2):
            png_writer(str(folder / f'lr-{k:03d}.png'), 20, 42)
            png_writer(str(folder / f'hr-{k:03d}.png'), 40, 84)
        (folder / 'annotations.json').write_text(annotations)
        return folder

    make.root = root
    return make


@pytest.mark.parametrize('content', ['["ABC1234"]', '"ABC1234"', 'null'])
def test_annotations_that_are_not_a_json_object_name_the_file(track, content):
    folder = track(annotations=content)
    with pytest.raises(PlateAnnotationError) as info:
        LRLPRTrackDataset(data_root=str(track.root))
    assert info.value.where == str(folder / 'annotations.json')
    assert info.value.reason == 'annotations.json must hold a JSON object'


def test_a_plate_text_that_is_not_a_string_names_the_file_and_the_value(track):
    track(annotations=json.dumps({'plate_text': 1234567}))
    with pytest.raises(PlateAnnotationError,
                       match=r'track_00001/annotations\.json: plate_text must be a string, '
                             r'got 1234567'):
        LRLPRTrackDataset(data_root=str(track.root))


def test_a_bad_annotation_is_skipped_and_kept_when_not_strict(track, monkeypatch):
    from dld.datasets import base_plate_dataset
    said = []
    monkeypatch.setattr(base_plate_dataset, 'print_log', lambda msg, **kw: said.append(msg))
    track('track_00001', annotations=json.dumps({'plate_text': ['ABC1234']}))
    track('track_00002')
    ds = LRLPRTrackDataset(data_root=str(track.root), strict=False, frames='first')
    # how many of how many, so that a set mostly skipped shows
    assert said[0].startswith(f'LRLPRTrackDataset: skipped 1 bad annotation(s) of 2 (50.0 %; '
                              f'strict=False), {track.root}:')
    assert [ds.get_data_info(i)['track_id'] for i in range(len(ds))] == ['track_00002']
    [err] = ds.bad_annotations
    assert err.where.endswith('track_00001/annotations.json')


def test_a_frame_number_given_twice_names_both_files(track, png_writer):
    folder = track()
    png_writer(str(folder / 'lr-1.png'), 20, 42)  # frame 1 again, unpadded
    with pytest.raises(PlateAnnotationError) as info:
        LRLPRTrackDataset(data_root=str(track.root))
    assert info.value.where == str(folder)
    assert info.value.reason.startswith('lr-001 exists twice (')
    assert 'lr-001.png' in info.value.reason and 'lr-1.png' in info.value.reason


def test_a_track_list_written_with_backslashes_says_so(track):
    """split_tracks.py on Windows wrote 'Scenario-A\\track_00001': elsewhere it
    was "track folder not found" without the hint label files get."""
    track('Scenario-A/track_00001')
    (track.root / 'val.txt').write_text('Scenario-A\\track_00001\n')
    with pytest.raises(PlateAnnotationError) as info:
        LRLPRTrackDataset(data_root=str(track.root), ann_file='val.txt')
    assert "paths with backslashes: a label file written on Windows? Write them with '/'" \
        in info.value.reason


def test_a_listed_track_folder_that_is_missing_is_named(track):
    track('track_00001')
    (track.root / 'val.txt').write_text('track_00001\ntrack_00404\n')
    with pytest.raises(PlateAnnotationError) as info:
        LRLPRTrackDataset(data_root=str(track.root), ann_file='val.txt')
    # where it is listed, and what
    assert info.value.where == f"{track.root / 'val.txt'}:2"
    assert info.value.reason == f"track folder not found: {track.root / 'track_00404'}"
    ds = LRLPRTrackDataset(data_root=str(track.root), ann_file='val.txt', strict=False,
                           frames='first')
    assert len(ds) == 1 and ds.num_bad_annotations == 1


def test_a_negative_max_retry_is_refused(paired_root):
    with pytest.raises(ValueError, match='max_retry must be >= 0, got -1'):
        PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', pipeline=[],
                           max_retry=-1)


def test_a_pipeline_step_that_returns_none_is_an_error_naming_the_item(paired_root):
    """A transform that drops a sample (MMEngine's Compose then returns
    None) must not be mistaken for an unreadable image and retried."""
    def drop_everything(results):
        return None

    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt',
                            frames='first', pipeline=[drop_everything])
    with pytest.raises(RuntimeError, match=r'The pipeline returned None for item 1 '
                                           r'\(.*train\.txt:2\): one of its transforms '
                                           r'\(drop_everything\) dropped it; plate pipelines must '
                                           'not drop samples silently'):
        ds[1]
    assert ds.num_skipped_images == 0


def _image(h=20, w=60):
    return np.zeros((h, w, 3), np.uint8)


def test_degrade_hr_without_an_hr_image_names_img_hr():
    with pytest.raises(KeyError, match=r'DegradeHR needs img_hr; load HR frames first'):
        DegradeHR()(dict(img=_image(), lr_path='lr.png'))


def test_pack_plate_inputs_without_an_lr_image_names_img():
    with pytest.raises(KeyError, match=r'PackPlateInputs needs img \(the LR image\)'):
        PackPlateInputs()(dict(img_hr=_image(40, 120), gt_text='ABC1234'))


def test_pack_plate_inputs_reading_hr_without_an_hr_image_names_img_hr():
    with pytest.raises(KeyError, match=r"PackPlateInputs\(main_stream='hr'\) needs img_hr"):
        PackPlateInputs(main_stream='hr')(dict(img=_image(), gt_text='ABC1234'))


@pytest.mark.parametrize('results', [dict(), dict(lr_path=''), dict(lr_path=None)])
def test_load_plate_images_without_an_lr_path_names_lr_path(results):
    with pytest.raises(KeyError, match='LoadPlateImages: results has no lr_path'):
        LoadPlateImages()(dict(results, hr_path=None))


def test_load_plate_images_with_hr_true_and_no_hr_path_names_hr_path(paired_root):
    lr = str(paired_root / 't0' / 'lr-0.png')
    with pytest.raises(KeyError, match=r'LoadPlateImages\(with_hr=True\): this item has no '
                                       r'hr_path'):
        LoadPlateImages(with_hr=True)(dict(lr_path=lr, hr_path=None))


def test_load_plate_images_reads_no_lr_path_when_told_not_to_read_lr(paired_root):
    hr = str(paired_root / 't0' / 'hr-0.png')
    out = LoadPlateImages(with_lr=False)(dict(hr_path=hr))
    assert 'img' not in out and out['img_hr'].shape == (40, 120, 3)


def test_an_lr_only_line_where_only_hr_is_read_asks_for_hr_frames(paired_root):
    """load_hr=False, which the message advised, cannot help a set whose
    model reads the HR crop (a docs journey)."""
    (paired_root / 'lr_only.txt').write_text('t0/lr-0.png,t0/lr-1.png\tABC1234\n')
    with pytest.raises(PlateAnnotationError, match=r"reads the HR crop only .*give the "
                       r"track's HR frames") as info:
        PairedPlateDataset(data_root=str(paired_root), ann_file='lr_only.txt', test_mode=True,
                           load_hr=True,
                           pipeline=[dict(type='LoadPlateImages', with_lr=False, with_hr=True)])
    assert 'load_hr=False' not in str(info.value)


@pytest.mark.parametrize('test_mode', [False, True])
def test_a_comma_in_an_image_s_file_name_is_named_at_its_line(tmp_path, png_writer, test_mode):
    """'lr,1.png' was "frame .../lr is listed twice in this track" (test
    mode) or missing files that are none (training)."""
    for name in ('lr,1.png', 'lr,2.png', 'hr1.png', 'hr2.png'):
        png_writer(str(tmp_path / name), 20, 42)
    (tmp_path / 'train.txt').write_text('lr,1.png,lr,2.png|hr1.png,hr2.png\tABC1234\n')
    with pytest.raises(PlateAnnotationError) as info:
        PairedPlateDataset(data_root=str(tmp_path), ann_file='train.txt', test_mode=test_mode)
    assert info.value.where == f"{tmp_path / 'train.txt'}:1"
    assert info.value.reason.startswith("the file name 'lr,1.png' holds a ','")
