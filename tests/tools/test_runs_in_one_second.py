"""Two runs built in one second each keep their own log, scalars and console
(MMEngine keys them by ``<config>_<second>``: the second run got the first's)."""
import time


def _same_second(monkeypatch):
    strftime = time.strftime

    def fixed(fmt, *args):
        return '20261207_120000' if fmt == '%Y%m%d_%H%M%S' else strftime(fmt, *args)
    monkeypatch.setattr(time, 'strftime', fixed)


def test_a_second_run_in_the_same_second_has_its_own_logger_and_visualizer(
        tiny_teacher_config, tmp_path, monkeypatch, capsys):
    from mmengine.config import Config

    from dld.engine.launch import runner_from_cfg
    _same_second(monkeypatch)
    cfg = Config.fromfile(tiny_teacher_config)
    cfg.log_level = 'INFO'
    runners = []
    for name, brief in (('first', True), ('second', False)):
        cfg.work_dir = str(tmp_path / name)
        runners.append(runner_from_cfg(cfg, brief))
    first, second = runners
    assert 'experiment_name' not in cfg  # the caller's config is left as it was
    assert first.experiment_name == 'tiny_teacher_20261207_120000'
    assert second.experiment_name == 'tiny_teacher_2_20261207_120000'
    assert second.logger is not first.logger and second.visualizer is not first.visualizer
    assert second.message_hub is not first.message_hub
    for runner in runners:
        assert runner.logger.log_file.startswith(runner.work_dir)
    # the brief first run's console filter is not the plain second run's
    assert 'Config:\n' in capsys.readouterr().out
    third = runner_from_cfg(cfg, False)
    assert third.experiment_name == 'tiny_teacher_3_20261207_120000'
