"""A missing validation image stops tools/train.py before it trains, so no
epoch is spent (and no checkpoint written) only to fail at validation; bad
data ends train.py and test.py with one line naming it, exit status 2."""
import glob
import os.path as osp
import shutil

import pytest

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
        teacher_run, train_tool, run_name, tmp_path, capsys):
    config, _, hr = teacher_run
    hr.unlink()
    work_dir = str(tmp_path / 'run')
    with pytest.raises(SystemExit) as info:
        train_tool.main([config, '--work-dir', work_dir,
                         '--cfg-options', f'experiment_name={run_name()}'])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert 'train.py: ' in err and '1 of the 4 image(s)' in err
    assert str(hr) in err and 'val.txt:2' in err and 'Traceback' not in err
    assert _checkpoints(work_dir) == []


@pytest.mark.parametrize('workers', [0, 1])
def test_a_corrupt_test_image_ends_test_py_with_one_line(teacher_run, tmp_path, capsys,
                                                         run_name, workers):
    """Found in a loader worker too, whose error PyTorch raises again as a
    RuntimeError holding the worker's traceback."""
    from repo_scripts import load_script
    config, _, _ = teacher_run
    data = str(tmp_path / 'data')
    first = open(osp.join(data, 'test.txt')).read().splitlines()[0]
    hr = osp.join(data, first.split('\t')[0].split('|')[1].split(',')[0])
    with open(hr, 'wb') as f:
        f.write(b'not a png')
    import torch
    from mmengine.config import Config

    from dld.registry import MODELS
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'teacher.pth')
    options = [f'experiment_name={run_name()}', f'test_dataloader.num_workers={workers}']
    with pytest.raises(SystemExit) as info:
        load_script('tools/test.py').main([config, str(tmp_path / 'teacher.pth'), '--work-dir',
                                           str(tmp_path / 'test'), '--cfg-options', *options])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('test.py: cannot decode image') and hr in err[-1]
    assert 'test.txt:1' in err[-1] and 'Traceback' not in '\n'.join(err)


def test_the_teacher_trains_without_the_val_lr_images_it_never_reads(
        teacher_run, train_tool, run_name, tmp_path):
    config, lr, _ = teacher_run
    shutil.move(lr, tmp_path / 'aside.png')
    work_dir = str(tmp_path / 'run')
    train_tool.main([config, '--work-dir', work_dir,
                     '--cfg-options', f'experiment_name={run_name()}'])
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
