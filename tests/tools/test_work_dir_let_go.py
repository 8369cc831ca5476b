"""A run in a Python session (a notebook) that fails or is interrupted lets
go of its work dir: it stayed held for the session's life, and
`tools/train.py --resume` there was refused as "still running"."""
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook

from dld.registry import HOOKS

HELD_BY_ANOTHER = '''
import sys
from dld.engine.work_dir_lock import WorkDirInUseError, lock_work_dir
try:
    lock_work_dir(sys.argv[1])
except WorkDirInUseError:
    sys.exit(3)
'''


def _held_by_this_process(folder) -> bool:
    done = subprocess.run([sys.executable, '-c', HELD_BY_ANOTHER, str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 3), done.stderr
    return done.returncode == 3


@HOOKS.register_module(force=True)
class InterruptAtIteration(Hook):
    """Ctrl-C in a notebook cell, as the second iteration ends (the runner
    has counted the first)."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if batch_idx == 1:
            raise KeyboardInterrupt


def _tiny_cfg(tiny_teacher_config, work_dir, name) -> Config:
    """The tiny teacher's config with its data made, training into ``work_dir``."""
    from dld.datasets.synth import ensure_synth_plates
    cfg = Config.fromfile(tiny_teacher_config)
    ensure_synth_plates(**cfg.synth_plates)
    cfg.merge_from_dict(dict(work_dir=str(work_dir), experiment_name=name))
    return cfg


def _stopped_runner(cfg):
    """A runner of ``cfg`` whose training a Ctrl-C stopped in its second
    iteration (the runner has counted its first)."""
    from dld.engine.launch import runner_from_cfg
    cfg.custom_hooks = [dict(type='InterruptAtIteration')]
    runner = runner_from_cfg(cfg)
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    return runner


def test_a_run_interrupted_in_a_session_lets_go_of_its_work_dir(tiny_teacher_config, tmp_path,
                                                                run_name):
    _stopped_runner(_tiny_cfg(tiny_teacher_config, tmp_path, run_name()))
    assert not _held_by_this_process(tmp_path)


def test_train_py_s_main_refused_in_a_session_lets_go_of_its_work_dir(
        tiny_teacher_config, train_tool, tmp_path, run_name):
    with pytest.raises(SystemExit):  # refused as the loop is built, the work dir taken
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path), '--cfg-options',
                         f'experiment_name={run_name()}', 'train_cfg.max_epocs=1'])
    assert not _held_by_this_process(tmp_path)


def test_train_again_on_a_stopped_runner_says_what_to_do(tiny_teacher_config, tmp_path,
                                                        run_name):
    """It was refused as if a checkpoint saved within an epoch were resumed."""
    from dld.engine.hooks.resumed_schedule_check_hook import ResumedScheduleError
    runner = _stopped_runner(_tiny_cfg(tiny_teacher_config, tmp_path, run_name()))
    with pytest.raises(ResumedScheduleError, match=r"This runner's training stopped within "
                       r'epoch 1, after iteration 1 of its 2: train\(\) again'):
        runner.train()


def test_train_again_on_a_resumed_runner_that_stopped_says_what_to_do(
        tiny_teacher_config, tmp_path, run_name):
    """A runner that resumed an epoch's checkpoint, stopped within the next
    epoch, was told its checkpoint had been saved within an epoch."""
    from dld.engine.hooks.resumed_schedule_check_hook import ResumedScheduleError
    from dld.engine.launch import runner_from_cfg
    cfg = _tiny_cfg(tiny_teacher_config, tmp_path, run_name())
    cfg.train_cfg.max_epochs = 1
    runner_from_cfg(cfg).train()
    cfg.merge_from_dict(dict(experiment_name=run_name(), resume=True,
                             load_from=str(tmp_path / 'epoch_1.pth')))
    cfg.train_cfg.max_epochs = 3
    runner = _stopped_runner(cfg)
    with pytest.raises(ResumedScheduleError, match=r"This runner's training stopped within "
                       r'epoch 2, after iteration 1 of its 2'):
        runner.train()
