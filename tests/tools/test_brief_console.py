"""--brief: the runner's set-up text in its log file, not on the terminal
(the quickstart printed some 1,750 lines, most of them two configs)."""
import pytest

SETUP = ('System environment:', 'Config:\n', 'Hooks will be executed in the following order')


@pytest.mark.parametrize('brief', [True, False])
def test_brief_keeps_the_setup_text_in_the_log_file_only(tiny_teacher_config, tmp_path, capsys,
                                                         brief):
    from mmengine.config import Config

    from dld.engine.launch import runner_from_cfg
    cfg = Config.fromfile(tiny_teacher_config)
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'INFO'  # the tiny config's is WARNING, the shipped ones' INFO
    runner = runner_from_cfg(cfg, brief)
    shown = capsys.readouterr().out
    with open(runner.logger.log_file, encoding='utf-8') as f:
        logged = f.read()
    assert all(text in logged for text in SETUP)  # the file keeps it either way
    assert all((text in shown) is not brief for text in SETUP)
    line = f"The run's system environment, config and hook order are in {runner.logger.log_file}"
    assert (line in shown) is brief
    runner.logger.info('Epoch(train) [1][1/1]')  # the rest is shown
    assert 'Epoch(train) [1][1/1]' in capsys.readouterr().out
