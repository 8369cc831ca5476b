"""Files and habits of MMOCR and PaddleOCR given to DLD's datasets: each
refused in one line that names the file and the way to convert it."""
import json

import pytest
from plate_files import write_png

from dld.datasets import LRLPRTrackDataset, PairedPlateDataset
from dld.datasets.errors import PlateAnnotationError

CONVERTER = 'tools/dataset_converters/ocr_rec_labels.py'


def _mmocr_json(path):
    path.write_text(json.dumps({'metainfo': {'task_name': 'textrecog'}, 'data_list': [
        {'img_path': f'w{i}.png', 'instances': [{'text': 'AB12'}]} for i in range(3)]},
        indent=1))
    return path


def test_an_mmocr_annotation_as_ann_file_is_refused_whole_naming_the_converter(tmp_path):
    """Each of its lines was 'no TAB between the image paths and the label';
    with strict=False 40 lines of that, then 'no track'."""
    _mmocr_json(tmp_path / 'textrecog_train.json')
    for strict in (True, False):
        with pytest.raises(PlateAnnotationError) as info:
            PairedPlateDataset(data_root=str(tmp_path), ann_file='textrecog_train.json',
                               pipeline=[], test_mode=True, strict=strict)
        message = str(info.value)
        assert message.startswith(f"{tmp_path / 'textrecog_train.json'}:1: the file is an "
                                  "MMOCR annotation ('data_list')")
        assert CONVERTER in message
    with pytest.raises(PlateAnnotationError, match='not a track list, one track folder a line'):
        LRLPRTrackDataset(data_root=str(tmp_path), ann_file='textrecog_train.json',
                          pipeline=[], test_mode=True)


def test_a_label_line_that_is_no_json_document_is_read_as_before(tmp_path):
    write_png(str(tmp_path / '{a}.png'))
    (tmp_path / 'l.txt').write_text('{a}.png\tAB12\n')
    ds = PairedPlateDataset(data_root=str(tmp_path), ann_file='l.txt', pipeline=[],
                            test_mode=True)
    assert ds.get_data_info(0)['gt_text'] == 'AB12'


def test_paddle_s_json_list_of_images_names_the_line_and_the_converter(tmp_path):
    (tmp_path / 'l.txt').write_text('["a.png", "b.png"]\tAB12\n')
    with pytest.raises(PlateAnnotationError) as info:
        PairedPlateDataset(data_root=str(tmp_path), ann_file='l.txt', pipeline=[],
                           test_mode=True)
    assert str(info.value).startswith(f"{tmp_path / 'l.txt'}:1: the images are a JSON list "
                                      "(PaddleOCR's)")
    assert CONVERTER in str(info.value)


def test_a_paddle_line_read_by_a_teacher_says_how_to_list_an_image_as_hr(tmp_path):
    write_png(str(tmp_path / 'crops/w0.png'))
    (tmp_path / 'rec_gt.txt').write_text('crops/w0.png\tAB12\n')
    with pytest.raises(PlateAnnotationError) as info:
        PairedPlateDataset(data_root=str(tmp_path), ann_file='rec_gt.txt', pipeline=[
            dict(type='LoadPlateImages', with_lr=False, with_hr=True)])
    assert "'|img.png<TAB>TEXT' gives an image as the HR frame alone" in str(info.value)
    assert CONVERTER in str(info.value)


def test_mmcv_s_load_image_from_file_is_refused_when_the_set_is_built(paired_root):
    """Built without a word through MMEngine's root registry, it failed at
    the first item in a loader worker: KeyError 'img_path'."""
    with pytest.raises(ValueError, match=r"LoadImageFromFile \(mmcv.*reads results\['img_path'\]"
                       r".*LoadPlateImages\(with_lr, with_hr\)"):
        PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', pipeline=[
            dict(type='LoadImageFromFile'), dict(type='PackPlateInputs')])
