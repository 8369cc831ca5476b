"""A distiller of one's own, derived from DLD's, is taken for one by the tools."""
from tiny_dld import dld_config

from dld.apis.model_loading import build_model_for_inference, is_distiller_config
from dld.models.distillers import DLDDistiller, is_distiller_type
from dld.registry import MODELS


@MODELS.register_module(name='SubclassedDistillerForTests', force=True)
class SubclassedDistiller(DLDDistiller):
    """A method on top of DLD's, as a paper's project writes one."""


def test_a_subclass_is_a_distiller_by_its_registered_name_or_class():
    for kind in ('DLDDistiller', 'dld.DLDDistiller', DLDDistiller,
                 'SubclassedDistillerForTests', 'dld.SubclassedDistillerForTests',
                 SubclassedDistiller):
        assert is_distiller_type(kind), kind
    for kind in ('TextRecognizer', 'dld.TextRecognizer', None, 'NotRegisteredAnywhere'):
        assert not is_distiller_type(kind), kind


def test_inference_builds_a_subclass_without_its_teacher(tmp_path):
    """Its type taken for a plain model's, inference loaded the teacher
    checkpoint (a missing one: 'Teacher checkpoint not found')."""
    model_cfg = dict(dld_config(str(tmp_path))['model'], type='SubclassedDistillerForTests',
                     teacher_ckpt=str(tmp_path / 'no_such_teacher.pth'))
    assert is_distiller_config(model_cfg)
    model = build_model_for_inference(model_cfg)
    assert isinstance(model, SubclassedDistiller) and not bool(model.teacher_loaded)
