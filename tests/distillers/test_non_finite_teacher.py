"""A teacher checkpoint holding NaN or infinity (a diverged run's) is refused."""
import pytest
import torch

from dld.registry import MODELS

from .conftest import tiny_dld_cfg


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_a_teacher_with_non_finite_weights_is_refused_naming_them(teacher_ckpt, bad):
    path = teacher_ckpt()
    ckpt = torch.load(path, weights_only=True)
    key = next(k for k in ckpt['state_dict'] if k.endswith('running_var'))
    ckpt['state_dict'][key][0] = bad
    torch.save(ckpt, path)
    cfg = tiny_dld_cfg('configs/dld_plate.py')
    with pytest.raises(ValueError, match=rf"{path}: the teacher's {key} holds NaN or infinity"):
        MODELS.build(dict(cfg, teacher_ckpt=path))
    ckpt['state_dict'][key][0] = 1.0
    torch.save(ckpt, path)
    MODELS.build(dict(cfg, teacher_ckpt=path))  # the same file, finite, loads
