"""tools/quickstart.py runs its steps in the repository: the configs it is
given must still name the user's files there."""
import os.path as osp

import pytest


class Stop(Exception):
    pass


def _commands(quickstart, monkeypatch, argv):
    """The two training commands quickstart would run (nothing runs)."""
    calls = []

    def record(step, cmd):
        calls.append(cmd)
        if len(calls) == 2:
            raise Stop

    monkeypatch.setattr(quickstart, 'run', record)
    with pytest.raises(Stop):  # no teacher was trained: no check of it
        quickstart.main([*argv, '--min-teacher-accuracy', '0'])
    return calls


def test_configs_relative_to_the_current_folder_reach_the_steps(load_tool, tmp_path,
                                                                monkeypatch):
    quickstart = load_tool('quickstart')
    (tmp_path / 'mine').mkdir()
    for name in ('teacher.py', 'dld.py'):
        (tmp_path / 'mine' / name).write_text('')
    monkeypatch.chdir(tmp_path)
    teacher, dld = _commands(quickstart, monkeypatch, [
        '--work-dir', 'out', '--teacher-config', 'mine/teacher.py', '--config', 'mine/dld.py'])
    assert teacher[1] == str(tmp_path / 'mine' / 'teacher.py')
    assert dld[1] == str(tmp_path / 'mine' / 'dld.py')
    assert teacher[teacher.index('--work-dir') + 1] == str(tmp_path / 'out' / 'teacher')


def test_the_default_configs_are_the_repositorys_from_any_folder(load_tool, tmp_path,
                                                                 monkeypatch):
    quickstart = load_tool('quickstart')
    monkeypatch.chdir(tmp_path)
    teacher, dld = _commands(quickstart, monkeypatch, ['--work-dir', 'out'])
    repo = osp.dirname(osp.dirname(osp.abspath(quickstart.__file__)))
    assert osp.isfile(osp.join(repo, teacher[1]))
    assert osp.isfile(osp.join(repo, dld[1]))
    assert dld[1].endswith(quickstart.DLD_CONFIGS['efficiency'])


def test_each_step_prints_the_command_a_user_would_type(load_tool, capsys):
    quickstart = load_tool('quickstart')
    quickstart.run('1/1 a step', ['-c', 'print("ran")'])
    out = capsys.readouterr().out
    assert '$ python -c print("ran")' in out  # not "$ -c ...": runnable as shown
    assert '1/1 a step: done in' in out
