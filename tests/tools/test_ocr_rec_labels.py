"""tools/dataset_converters/ocr_rec_labels.py: a PaddleOCR label file or an
MMOCR 1.x textrecog JSON becomes a DLD label file that the teacher's, DLD's
and the student's evaluation sets read."""
import json

import pytest
from plate_files import write_png
from repo_scripts import load_script

from dld.datasets import PairedPlateDataset

TOOL = 'tools/dataset_converters/ocr_rec_labels.py'


@pytest.fixture
def crops(tmp_path):
    """PaddleOCR's layout: data_dir/rec/train/*.jpg, labels beside it."""
    root = tmp_path / 'data'
    for i in range(4):
        write_png(str(root / f'rec/train/w{i}.png'), 32, 100)
    return root


def _read(root, ann, pipeline, **kwargs):
    return PairedPlateDataset(data_root=str(root), ann_file=ann, pipeline=pipeline, **kwargs)


def test_a_paddle_label_file_becomes_lines_every_set_reads(crops, capsys):
    src = crops / 'rec_gt_train.txt'
    src.write_text('rec/train/w0.png\tABC1234\nrec/train/w1.png\tXYZ9876\n\n'
                   '["rec/train/w2.png", "rec/train/w3.png"]\tQWE1R23\n', encoding='utf-8')
    out = crops / 'train.txt'
    assert load_script(TOOL).main([str(src), '--out', str(out), '--data-root', str(crops)]) == 0
    assert out.read_text() == (
        'rec/train/w0.png|rec/train/w0.png\tABC1234\n'
        'rec/train/w1.png|rec/train/w1.png\tXYZ9876\n'
        # PaddleOCR's list of images of one text: the frames of one track
        'rec/train/w2.png,rec/train/w3.png|rec/train/w2.png,rec/train/w3.png\tQWE1R23\n')
    assert '3 LR and HR line(s)' in capsys.readouterr().out
    teacher = _read(crops, 'train.txt', [dict(type='LoadPlateImages', with_lr=False,
                                              with_hr=True)])
    dld = _read(crops, 'train.txt', [dict(type='LoadPlateImages')], frames='all')
    student_eval = _read(crops, 'train.txt', [dict(type='LoadPlateImages', with_hr=False)],
                         test_mode=True, frames='all')
    assert len(teacher) == 3 and len(dld) == 4 and len(student_eval) == 4
    assert dld[3]['img'].shape == dld[3]['img_hr'].shape == (32, 100, 3)


def test_an_mmocr_annotation_becomes_hr_only_lines_with_its_image_prefix(crops):
    src = crops / 'textrecog_train.json'
    src.write_text(json.dumps({'metainfo': {'dataset_type': 'TextRecogDataset',
                                            'task_name': 'textrecog'},
                               'data_list': [{'img_path': f'w{i}.png',
                                              'instances': [{'text': t}]}
                                             for i, t in enumerate(['AB12', 'CD34'])]}))
    out = crops / 'hr.txt'
    assert load_script(TOOL).main([str(src), '--out', str(out), '--as', 'hr',
                                   '--img-prefix', 'rec/train/']) == 0
    assert out.read_text() == '|rec/train/w0.png\tAB12\n|rec/train/w1.png\tCD34\n'
    teacher = _read(crops, 'hr.txt', [dict(type='LoadPlateImages', with_lr=False, with_hr=True)])
    assert [teacher.get_data_info(i)['gt_text'] for i in range(2)] == ['AB12', 'CD34']


def test_a_bad_entry_stops_it_naming_file_and_line_and_nothing_is_written(crops, capsys):
    src = crops / 'labels.txt'
    src.write_text('rec/train/w0.png\tAB12\nrec/train/w1.png AB12\n'
                   'rec/train/a,b.png\tCD34\nrec/train/w2.png\tEF\t56\n'
                   'rec/train/w2.png\tGH78\t\n')
    out = crops / 'out.txt'
    tool = load_script(TOOL)
    assert tool.main([str(src), '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{src}:2: no '\\t' between the image path and the label" in err
    assert '(2 more bad entries)' in err and '--skip-bad' in err
    assert not out.exists()
    # skipped, counted and listed: none dropped without a word
    assert tool.main([str(src), '--out', str(out), '--skip-bad']) == 0
    err = capsys.readouterr().err
    assert 'skipped 3 of 5 entries' in err
    assert f"{src}:3: image path 'rec/train/a,b.png' holds ','" in err
    assert f"{src}:4: 2 delimiters" in err
    # a spreadsheet's empty column after the label is no delimiter too many
    assert out.read_text() == ('rec/train/w0.png|rec/train/w0.png\tAB12\n'
                               'rec/train/w2.png|rec/train/w2.png\tGH78\n')


def test_a_missing_image_and_an_unreadable_json_are_said(crops, capsys):
    src = crops / 'labels.txt'
    src.write_text('rec/train/w0.png\tAB12\nrec/train/nope.png\tCD34\n')
    tool = load_script(TOOL)
    assert tool.main([str(src), '--out', str(crops / 'o.txt'), '--data-root', str(crops)]) == 1
    assert f"{src}:2: image 'rec/train/nope.png' is not in" in capsys.readouterr().err
    bad = crops / 'det.json'
    bad.write_text(json.dumps({'metainfo': {'task_name': 'textdet'}, 'data_list': []}))
    assert tool.main([str(bad), '--out', str(crops / 'o.txt')]) == 1
    assert "task_name is 'textdet'" in capsys.readouterr().err
    many = crops / 'many.json'
    many.write_text(json.dumps({'data_list': [{'img_path': 'a.png', 'instances': [
        {'text': 'A'}, {'text': 'B'}]}]}))
    assert tool.main([str(many), '--out', str(crops / 'o.txt')]) == 1
    assert f'{many}:data_list[0]: 2 instances' in capsys.readouterr().err


def test_an_existing_output_is_kept_without_force(crops, capsys):
    src = crops / 'labels.txt'
    src.write_text('rec/train/w0.png\tAB12\n')
    out = crops / 'out.txt'
    out.write_text('old\n')
    assert load_script(TOOL).main([str(src), '--out', str(out)]) == 2
    assert out.read_text() == 'old\n'
    assert load_script(TOOL).main([str(src), '--out', str(out), '--force']) == 0
    assert out.read_text().endswith('\tAB12\n')


def test_a_paddle_path_starting_with_a_bracket_is_a_file_as_paddle_reads_it(tmp_path):
    # PaddleOCR's SimpleDataSet: a name starting with '[' that is no JSON is the file's name
    src = tmp_path / 'rec_gt_train.txt'
    src.write_text('[1].jpg\tABC1234\n', encoding='utf-8')
    out = tmp_path / 'train.txt'
    assert load_script(TOOL).main([str(src), '--out', str(out)]) == 0
    assert out.read_text() == '[1].jpg|[1].jpg\tABC1234\n'


def test_a_tab_delimiter_typed_as_backslash_t_is_a_tab(crops):
    """``--delimiter '\\t'`` from a shell arrives as two characters: every
    line was "no '\\\\t' between the path and the label"."""
    src = crops / 'rec_gt_train.txt'
    src.write_text('rec/train/w0.png\tABC1234\n', encoding='utf-8')
    out = crops / 'train.txt'
    assert load_script(TOOL).main([str(src), '--out', str(out), '--delimiter', '\\t']) == 0
    assert out.read_text() == 'rec/train/w0.png|rec/train/w0.png\tABC1234\n'
