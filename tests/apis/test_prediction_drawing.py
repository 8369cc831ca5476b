"""Drawings mark a reading right or wrong as the config's plate metric counts it."""
import os.path as osp

import cv2
import numpy as np
import pytest

from dld.apis import save_visualization

GREEN, RED = (0, 140, 0), (0, 0, 200)


def _record(text, gt):
    return dict(text=text, gt_text=gt, confidence=0.9, input_size=[24, 72], scale=0.5,
                gflops=0.01, path='plate.png', input='plate.png')


def _colours(path):
    img = cv2.imread(path)
    return {c for c in (GREEN, RED) if (img.reshape(-1, 3) == c).all(axis=1).any()}


@pytest.mark.parametrize('case_sensitive,colours', [(False, {GREEN}), (True, {GREEN, RED})])
def test_a_reading_in_the_wrong_case_is_right_only_without_case(tmp_path, case_sensitive,
                                                                 colours):
    # with case, the letters are wrong (red) and the digits right (green)
    img = np.full((24, 72, 3), 200, np.uint8)
    path = save_visualization(img, _record('abc1234', 'ABC1234'), str(tmp_path), 0,
                              case_sensitive=case_sensitive)
    assert _colours(path) == colours


def test_drawings_are_named_after_their_track_and_frame(tmp_path):
    img = np.full((24, 72, 3), 200, np.uint8)
    rec = dict(_record('ABC1234', None), path='/data/test/S-A/track_00007/lr-003.png',
               track_id='S-A/track_00007')
    path = save_visualization(img, rec, str(tmp_path), 12)
    assert osp.basename(path) == '000012_S-A_track_00007_lr-003.png'
    # A loose image whose "track" is its own name is not named twice.
    rec = dict(_record('ABC1234', None), path='/x/plate.png', track_id='plate')
    assert osp.basename(save_visualization(img, rec, str(tmp_path), 13)) == '000013_plate.png'
    # an array given in memory: its name's brackets are no trailing '_'
    rec = dict(_record('ABC1234', None), path=None, input='in-memory array[1]')
    assert osp.basename(save_visualization(img, rec, str(tmp_path), 1)) == \
        '000001_in-memory_array_1.png'


def test_a_drawing_of_the_same_name_is_kept_not_overwritten(tmp_path):
    # two recognizers (or a restarted service) count their drawings from 0
    img = np.full((24, 72, 3), 200, np.uint8)
    first = save_visualization(img, _record('ABC1234', None), str(tmp_path), 0)
    before = open(first, 'rb').read()
    second = save_visualization(img, _record('XYZ9876', None), str(tmp_path), 0)
    assert osp.basename(second) == osp.basename(first)[:-4] + '-1.png'
    assert open(first, 'rb').read() == before and open(second, 'rb').read() != before


@pytest.mark.slow
def test_the_recognizer_draws_with_its_configs_case_rule(tiny_run):
    from mmengine.config import Config

    from dld.apis import PlateRecognizer
    cfg = Config.fromfile(tiny_run['config'])
    assert not PlateRecognizer(cfg, tiny_run['student'], device='cpu').case_sensitive
    cfg.test_evaluator = [dict(type='PlateRecogMetric', case_sensitive=True)]
    assert PlateRecognizer(cfg, tiny_run['student'], device='cpu').case_sensitive


def test_small_confidences_keep_their_digits():
    from dld.apis.prediction_drawing import format_confidence, prediction_lines
    assert format_confidence(0.8736) == '0.874'
    assert format_confidence(0.0) == '0.000'
    assert format_confidence(1.23e-5) == '1.2e-05'  # a CTC string, not '0.000'
    record = dict(text='QT8254', confidence=1.5e-5, input_size=[48, 144], scale=1.0,
                  gflops=0.3)
    assert prediction_lines(record)[0] == 'QT8254  p=1.5e-05'


def test_non_ascii_readings_are_drawn_not_turned_into_question_marks():
    """OpenCV's fonts draw ASCII only: 'MÜ12' drew as 'M?12', and every
    Chinese province as '?', so two plates differing there looked alike."""
    from dld.apis.prediction_drawing import _drawable, _unicode_font, draw_prediction
    img = np.full((20, 60, 3), 128, np.uint8)

    def drawn(text):
        return draw_prediction(img, [text, 'label ' + text])

    assert not np.array_equal(drawn('MÜ12'), drawn('M?12'))
    assert not np.array_equal(drawn('MÜ12'), drawn('MU12'))
    assert not np.array_equal(drawn('京A12'), drawn('粤A12'))
    _, glyphs = _unicode_font(22)
    assert _drawable('京Ü-Ж', glyphs) == '<U+4EAC>Ü-Ж'


def test_wrong_characters_are_those_outside_the_matching_blocks():
    from dld.apis.prediction_drawing import wrong_characters
    assert wrong_characters('ABC1Z34', 'ABC1234') == [False] * 4 + [True] + [False] * 2
    assert wrong_characters('ABC12345', 'ABC1234') == [False] * 7 + [True]  # one extra
    assert wrong_characters('abc', 'ABC') == [False] * 3
    assert wrong_characters('abc', 'ABC', case_sensitive=True) == [True] * 3
    assert wrong_characters('', 'ABC') == []


@pytest.mark.parametrize('text, label', [('ABC1Z34', 'ABC1234'), ('MÜ1Z', 'MÜ12')])
def test_a_wrong_reading_marks_its_wrong_characters_red_and_the_rest_green(
        tmp_path, text, label):
    img = np.full((24, 72, 3), 200, np.uint8)
    path = save_visualization(img, _record(text, label), str(tmp_path), 0)
    band = cv2.imread(path)[96:96 + 40]  # the reading's line, below the enlarged plate
    columns = {colour: np.nonzero((band == colour).all(axis=2).any(axis=0))[0]
               for colour in (GREEN, RED)}
    assert columns[GREEN].size and columns[RED].size
    # the right characters come first, the wrong one after them
    assert columns[GREEN].min() < columns[RED].min()


def test_a_drawing_that_fails_to_write_leaves_no_truncated_file(tmp_path, monkeypatch):
    import errno

    import dld.apis.prediction_drawing as drawing

    class FullDisk:
        def __init__(self, path, mode):
            self.file = open(path, mode)

        def write(self, data):
            self.file.write(data[:100])
            raise OSError(errno.ENOSPC, 'No space left on device')

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(drawing, 'open', FullDisk, raising=False)
    img = np.full((24, 72, 3), 200, np.uint8)
    with pytest.raises(OSError, match='No space left on device'):
        save_visualization(img, _record('ABC1234', None), str(tmp_path), 0)
    assert list(tmp_path.iterdir()) == []
