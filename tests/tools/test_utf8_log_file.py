"""The run's log file is UTF-8 whatever the locale's encoding: in Windows'
cp1252 a Chinese plate's label named in a warning was a '--- Logging error
---' traceback on the terminal and a line missing from the log."""
import logging

import pytest


@pytest.mark.parametrize('brief', [False, True])
def test_a_label_the_locale_cannot_encode_reaches_the_log_file(
        tiny_teacher_config, tmp_path, monkeypatch, brief, capsys):
    from mmengine.config import Config

    from dld.engine.launch import runner_from_cfg
    init = logging.FileHandler.__init__

    def in_the_locale_s_encoding(self, filename, mode='a', encoding=None, *args, **kwargs):
        init(self, filename, mode, encoding or 'cp1252', *args, **kwargs)  # as on Windows

    monkeypatch.setattr(logging.FileHandler, '__init__', in_the_locale_s_encoding)
    cfg = Config.fromfile(tiny_teacher_config)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'utf8_{brief}'
    cfg.log_level = 'INFO'
    runner = runner_from_cfg(cfg, brief)
    runner.logger.warning("label '京A12345' has character(s) ['京'] outside the dictionary")
    for handler in runner.logger.handlers:
        handler.flush()
    with open(runner.logger.log_file, encoding='utf-8') as f:
        text = f.read()
    assert "label '京A12345'" in text
    assert 'System environment:' in text  # the set-up text before it is kept
    assert 'Logging error' not in capsys.readouterr().err
