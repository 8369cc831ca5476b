"""A missing validation image stops tools/train.py before it trains, so no
epoch is spent (and no checkpoint written) only to fail at validation."""
import glob
import os.path as osp
import shutil

import pytest

from dld.datasets import ImageLoadError
from dld.datasets.synth import ensure_synth_plates

TEACHER_REST = '''
model = dict(_tiny)
train_cfg = dict(max_epochs=1)
param_scheduler = []
'''


@pytest.fixture
def teacher_run(tmp_path, tiny_config):
    data = tmp_path / 'data'
    ensure_synth_plates(str(data), tracks=4, val_tracks=2, test_tracks=2, frames=2, seed=0)
    config = tmp_path / 'teacher.py'
    config.write_text(tiny_config('configs/teacher_plate_hr.py', str(data), TEACHER_REST))
    lr, hr = (data / 'val.txt').read_text().splitlines()[1].split('\t')[0].split('|')
    return str(config), data / lr.split(',')[0], data / hr.split(',')[0]


def _checkpoints(work_dir):
    return glob.glob(osp.join(work_dir, '*.pth'))


def test_a_missing_val_hr_image_stops_the_teacher_before_its_first_epoch(
        teacher_run, train_tool, run_name, tmp_path):
    config, _, hr = teacher_run
    hr.unlink()
    work_dir = str(tmp_path / 'run')
    with pytest.raises(ImageLoadError, match=r'1 of the 4 image\(s\)') as info:
        train_tool.main([config, '--work-dir', work_dir,
                         '--cfg-options', f'experiment_name={run_name()}'])
    assert str(hr) in str(info.value) and 'val.txt:2' in str(info.value)
    assert _checkpoints(work_dir) == []


def test_the_teacher_trains_without_the_val_lr_images_it_never_reads(
        teacher_run, train_tool, run_name, tmp_path):
    config, lr, _ = teacher_run
    shutil.move(lr, tmp_path / 'aside.png')
    work_dir = str(tmp_path / 'run')
    train_tool.main([config, '--work-dir', work_dir,
                     '--cfg-options', f'experiment_name={run_name()}'])
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
