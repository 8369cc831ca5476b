"""What a tool says before its runner exists goes to the console, not into
the log file of the run before it in the same process (a notebook, a sweep):
MMEngine's 'current' logger is the last runner's while no other is made."""
import glob
import os.path as osp


def _log_text(work_dir) -> str:
    text = ''
    for path in glob.glob(osp.join(str(work_dir), '*', '*.log')):
        with open(path, encoding='utf-8') as f:
            text += f.read()
    return text


def test_a_second_run_s_early_warning_is_not_in_the_first_run_s_log(
        tiny_teacher_config, train_tool, tmp_path, run_name):
    first, second = tmp_path / 'first', tmp_path / 'second'
    for work_dir in (second, first):  # `second` then holds a checkpoint
        train_tool.main([tiny_teacher_config, '--work-dir', str(work_dir), '--cfg-options',
                         f'experiment_name={run_name()}', 'train_cfg.max_epochs=1'])
    # again in `second`: "holds an earlier run's checkpoints", said before its runner exists
    train_tool.main([tiny_teacher_config, '--work-dir', str(second), '--cfg-options',
                     f'experiment_name={run_name()}', 'train_cfg.max_epochs=1'])
    assert "holds an earlier run's checkpoints" not in _log_text(first)
