"""tools/train.py answers a mistyped `type` with the registered names close to it."""
import pytest

from dld.utils.registry_hints import UnknownTypeError


def test_train_tool_names_the_close_type(tiny_teacher_config, train_tool, run_name, tmp_path):
    with pytest.raises(UnknownTypeError, match="Did you mean 'ResNetPlate'"):
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path / 'run'),
                         '--cfg-options', 'model.backbone.type=ResNetPlat',
                         f'experiment_name={run_name()}'])
