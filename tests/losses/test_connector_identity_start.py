"""A learned connector between equal widths can start as the identity
(``init='identity'``): the paper's feature L2 compares the student's
features with the teacher's themselves, so a student copied from its
teacher starts at distance 0. The default stays random (the published runs).
"""
import pytest
import torch

from dld.models.connectors import FeatureMapConnector, SequenceConnector
from dld.registry import MODELS
from tests.distillers.conftest import plate_batch, tiny_dld_cfg


def test_equal_width_map_connector_starts_as_the_identity():
    x = torch.randn(2, 8, 3, 9)
    torch.testing.assert_close(FeatureMapConnector(8, 8, init='identity')(x), x)
    assert not torch.allclose(FeatureMapConnector(8, 8)(x), x)  # the default: random


def test_equal_width_sequence_connector_starts_as_the_identity():
    x = torch.randn(2, 10, 24)
    torch.testing.assert_close(SequenceConnector(24, 24, init='identity')(x), x)
    assert not torch.allclose(SequenceConnector(24, 24)(x), x)


def test_identity_between_other_widths_or_an_unknown_init_is_refused():
    with pytest.raises(ValueError, match=r"SequenceConnector\(init='identity'\) maps 24 to 48"):
        SequenceConnector(24, 48, init='identity')
    with pytest.raises(ValueError, match=r"init must be one of \('random', 'identity'\)"):
        FeatureMapConnector(8, 8, init='eye')


def test_student_copied_from_its_teacher_has_no_feature_distance_on_its_input(tmp_path):
    torch.manual_seed(0)
    teacher = MODELS.build(tiny_dld_cfg()['teacher'])
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    identity = dict(init='identity')
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=path, connectors=dict(
        backbone=identity, encoder=identity, decoder=identity)))
    model.eval()
    _, hr, samples = plate_batch(2)
    gt = model.student.encode_targets([s.gt_text for s in samples])
    with torch.no_grad():
        t = model.teacher.forward_features(hr, targets=gt)
        s = model.student.forward_features(hr, targets=gt)
        terms = model._feature_terms(s, t, torch.arange(2), gt)
    # a random 1x1 conv and linear layers gave about 1.4 per image
    torch.testing.assert_close(terms, torch.zeros(2), atol=1e-5, rtol=0)
