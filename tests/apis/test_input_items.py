"""expand_inputs on label files: which frames the student is given."""
import os.path as osp

import pytest

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


def test_hr_stream_gives_the_hr_frames_and_skips_lr_only_tracks(label_file):
    items = expand_inputs(label_file, stream='hr')
    root = osp.dirname(label_file)
    assert [(i.path, i.gt_text, i.track_id) for i in items] == [
        (osp.join(root, 'a/hr-1.png'), 'AB12', 'a'), (osp.join(root, 'a/hr-2.png'), 'AB12', 'a'),
        (osp.join(root, 'c/hr-1.png'), 'EF56', 'c')]


def test_a_label_file_without_hr_frames_is_one_error_item_on_the_hr_stream(tmp_path):
    path = tmp_path / 'lr_only.txt'
    path.write_text('b/lr-1.png\tCD34\n')
    [item] = expand_inputs(str(path), stream='hr')
    assert item.error and item.path is None and item.source == str(path)


def test_unknown_stream_is_refused(label_file):
    with pytest.raises(ValueError, match='stream'):
        expand_inputs(label_file, stream='both')
