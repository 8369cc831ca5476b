"""tools/train.py answers a setting the model refuses while it is built
(a mistyped `type`, a loss weight below 0) with one line, the registered
names close to a mistyped type included, and exit status 2."""
import pytest

from dld.utils.registry_hints import UnknownTypeError


def test_train_tool_names_the_close_type(tiny_teacher_config, train_tool, run_name, tmp_path,
                                         capsys):
    with pytest.raises(SystemExit) as info:
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path / 'run'),
                         '--cfg-options', 'model.backbone.type=ResNetPlat',
                         f'experiment_name={run_name()}'])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('train.py: the config cannot be built: ResNetPlat is not in the '
                          'dld::model registry') and "Did you mean 'ResNetPlate'" in err
    assert 'Traceback' not in err


def test_the_traceback_is_there_when_asked(tiny_teacher_config, train_tool, run_name, tmp_path,
                                         monkeypatch):
    monkeypatch.setenv('DLD_TRACEBACK', '1')
    with pytest.raises(UnknownTypeError, match="Did you mean 'ResNetPlate'"):
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path / 'run'),
                         '--cfg-options', 'model.backbone.type=ResNetPlat',
                         f'experiment_name={run_name()}'])
