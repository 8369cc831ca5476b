"""A full disk as a run starts: its config's copies whole or absent, its
last line said without logging's traceback."""
import errno
import os

from full_disk import fill_disk_for
from mmengine.config import Config


def test_a_config_copy_the_disk_refuses_is_not_left_cut_short(tmp_path, monkeypatch):
    """MMEngine's plain open('w') left 4096 of its 15634 bytes: a work dir
    copy of the config that no longer loads; over the run's own config
    (train.py work_dirs/x/x.py), its only copy."""
    from dld.utils.atomic_config_dump import atomic_config_dumps
    cfg = Config(dict(model=dict(type='X', layers=list(range(2000)))))
    path = tmp_path / 'run.py'
    path.write_text('model = dict(type="Y")\n')
    with monkeypatch.context() as patch, atomic_config_dumps():
        fill_disk_for(patch, 'run.py')
        try:
            cfg.dump(str(path))
        except OSError as err:
            assert err.errno == errno.ENOSPC and err.filename == str(path)
        else:
            raise AssertionError('the full disk was not said')
    assert path.read_text() == 'model = dict(type="Y")\n'
    assert os.listdir(tmp_path) == ['run.py']
    with atomic_config_dumps():  # with room: the same text as MMEngine's
        cfg.dump(str(path))
    assert path.read_text() == cfg.pretty_text
    assert Config.dump.__name__ == 'dump'  # put back


def test_a_config_dumped_in_another_format_is_written_as_mmengine_writes_it(tmp_path):
    """A pickle's dump is bytes: TypeError (write() argument must be str)
    while a runner was built, in any thread."""
    from dld.utils.atomic_config_dump import atomic_config_dumps
    cfg = Config(dict(a=1, b=dict(c=[1, 2])))
    with atomic_config_dumps():
        for ext in ('pkl', 'json', 'yaml'):
            cfg.dump(str(tmp_path / f'cfg.{ext}'))
    import pickle
    with open(tmp_path / 'cfg.pkl', 'rb') as f:
        assert pickle.load(f) == cfg.to_dict()
    for ext in ('json', 'yaml'):
        assert Config.fromfile(str(tmp_path / f'cfg.{ext}')).to_dict() == cfg.to_dict()


def test_the_last_line_goes_on_stderr_alone_when_the_log_file_is_full(tmp_path, capsys):
    """The log file is on the full disk: logging's '--- Logging error ---'
    (40 lines) came before the line that says the disk is full."""
    import logging

    from mmengine.logging import MMLogger

    from dld.engine.launch import last_line
    logger = MMLogger.get_instance('full_disk_last_line', log_file=str(tmp_path / 'run.log'))
    handler = next(h for h in logger.handlers if isinstance(h, logging.FileHandler))

    def refused(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    handler.stream.write = refused
    capsys.readouterr()
    last_line('train.py: the disk is full', logging.ERROR)
    err = capsys.readouterr().err
    assert err == 'train.py: the disk is full\n'
    assert 'handleError' not in vars(handler)
