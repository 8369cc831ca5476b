"""A runner's log file is closed once the runner is gone: MMEngine keeps its
logger for the process's life, so a notebook or a sweep that built runners
one after another kept one open file per run."""
import gc
import logging
import os
import time

import pytest
from tiny_runner_parts import TinyData, TinyModel

from dld.engine.dld_runner import DLDRunner


def _runner(work_dir, name):
    return DLDRunner(
        model=TinyModel(), work_dir=str(work_dir), experiment_name=name,
        train_dataloader=dict(batch_size=4, dataset=TinyData(),
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None))


def _open_files():
    fd_dir = '/proc/self/fd'
    return {os.path.realpath(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)}


def _log_files(logger):
    return [h for h in logger.handlers if isinstance(h, logging.FileHandler)]


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc/self/fd')
def test_a_gone_runner_s_log_file_is_closed(tmp_path):
    runner = _runner(tmp_path / 'a', 'closed_log_a')
    runner.train()
    logger = runner.logger
    log_file = os.path.realpath(_log_files(logger)[0].baseFilename)
    assert log_file in _open_files()
    del runner
    gc.collect()
    assert log_file not in _open_files()
    assert not _log_files(logger)
    logger.info('after the run')  # the console's handler is kept: no error, no file reopened
    assert log_file not in _open_files()


def test_a_runner_sharing_its_logger_keeps_the_log_file(tmp_path, monkeypatch):
    # two runners of one name built in one second share MMEngine's logger
    monkeypatch.setattr(time, 'strftime', lambda fmt, t=None: '20260101_000000')
    first = _runner(tmp_path / 'b', 'closed_log_b')
    second = _runner(tmp_path / 'b', 'closed_log_b')
    assert first.logger is second.logger
    del first
    gc.collect()
    assert _log_files(second.logger)
    logger = second.logger
    del second
    gc.collect()
    assert not _log_files(logger)


def test_a_runner_built_under_the_name_of_a_gone_one_has_its_own_log_file(tmp_path,
                                                                          monkeypatch):
    """Two runs of one name in one second (a sweep of tiny runs): the
    second got MMEngine's logger as the first left it, its file closed, and
    logged to no file at all (before the first's file was closed, it logged
    into the first's)."""
    monkeypatch.setattr(time, 'strftime', lambda fmt, t=None: '20260101_000001')
    first = _runner(tmp_path / 'c', 'closed_log_c')
    first_file = _log_files(first.logger)[0].baseFilename
    del first
    gc.collect()
    second = _runner(tmp_path / 'd', 'closed_log_c')
    second.logger.info('the second run')
    files = _log_files(second.logger)
    assert [h.baseFilename for h in files] == [
        os.path.abspath(os.path.join(second.log_dir, '20260101_000001.log'))]
    assert files[0].baseFilename != first_file
    files[0].flush()
    with open(files[0].baseFilename, encoding='utf-8') as f:
        assert 'the second run' in f.read()
    logger = second.logger
    del second
    gc.collect()
    assert not _log_files(logger)
