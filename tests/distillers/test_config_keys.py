"""A misspelt key of DLDDistiller's dict options fails at build, naming the
key and what is allowed (docs/STYLE: an unknown key fails loudly)."""
import pytest

from dld.registry import MODELS

from .conftest import tiny_dld_cfg


@pytest.mark.parametrize('option, value, match', [
    ('feature_levels', dict(backbone=1.0, encodr=0.0), r"feature_levels.*\['encodr'\]"),
    ('test_cfg', dict(force_scal=0.5), r"test_cfg.*\['force_scal'\]"),
    ('test_cfg', dict(decode='beam'), r"test_cfg.*\['decode'\].*student"),
])
def test_an_unknown_key_fails_at_build(teacher_ckpt, option, value, match):
    with pytest.raises(KeyError, match=match):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(), **{option: value}))


def test_known_keys_are_taken(teacher_ckpt):
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(),
                                      feature_levels=dict(encoder=0.5),
                                      test_cfg=dict(force_scale=0.5)))
    assert model.feature_levels == dict(backbone=1.0, encoder=0.5, decoder=1.0)
    assert model.test_cfg == dict(force_scale=0.5)
