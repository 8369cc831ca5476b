"""projects/mobile_student: a backbone, a feature loss and a transform that
extend DLD from outside its package, loaded by a config's custom_imports."""
import math
import os.path as osp

import numpy as np
import pytest
import torch

from dld.registry import MODELS, TRANSFORMS
from dld.utils import read_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'projects/mobile_student/configs/dld_efficiency_mobile_quick.py')


@pytest.fixture(scope='module')
def project():
    import projects.mobile_student.mobile_student as project
    return project


def test_the_config_imports_the_project_and_builds_a_cheaper_student(monkeypatch):
    monkeypatch.chdir(REPO)
    cfg = read_config(CONFIG)
    assert MODELS.get('MobilePlateNet') is not None
    assert MODELS.get('CosineFeatureLoss') is not None
    assert TRANSFORMS.get('RandomPlateOcclusion') is not None
    model = MODELS.build(dict(cfg.model, teacher_ckpt=None))
    assert type(model.student.backbone).__name__ == 'MobilePlateNet'
    assert type(model.feature_loss).__name__ == 'CosineFeatureLoss'
    # The student's 128 channels meet the teacher's 256 through the connector.
    assert model.connectors['backbone'].in_channels == 128
    assert model.connectors['backbone'].out_channels == 256
    # Measured, not assumed: the student at full scale costs under half the teacher.
    assert 0 < float(model.relative_cost[0]) < 0.5
    assert all(a > b for a, b in zip(model.relative_cost, model.relative_cost[1:]))
    # The student keeps one set of BatchNorm statistics per scale.
    assert model.student.scale_norm_sizes == [(48, 144), (38, 115), (29, 86)]


@pytest.mark.parametrize('size', [(48, 144), (29, 86), (14, 43)])
def test_mobile_plate_net_reads_every_scale_with_resnet_plates_stride(project, size):
    torch.manual_seed(0)
    net = project.MobilePlateNet(widths=(8, 16, 24, 32), depths=(1, 2, 1, 1)).eval()
    x = torch.randn(2, 3, *size)
    out = net(x)
    assert out.shape == (2, net.out_channels, math.ceil(size[0] / 8), math.ceil(size[1] / 4))
    assert out.is_contiguous()
    # channels-last kernels, the same arithmetic
    net.channels_last = False
    assert torch.allclose(net(x), out, atol=1e-5)


def test_mobile_plate_net_names_a_stage_config_it_cannot_build(project):
    with pytest.raises(ValueError, match='one entry per stage'):
        project.MobilePlateNet(widths=(8, 16), depths=(1, 1, 1), strides=((2, 2), (2, 2)))
    with pytest.raises(ValueError, match='depth'):
        project.MobilePlateNet(widths=(8, ), depths=(0, ), strides=((2, 2), ))
    with pytest.raises(ValueError, match=r'\(h, w\) pair'):
        project.MobilePlateNet(widths=(8, ), depths=(1, ), strides=(2, ))


def test_inverted_residual_adds_its_input_only_when_size_and_width_are_kept(project):
    kept = project.InvertedResidual(8, 8).eval()
    x = torch.randn(1, 8, 6, 10)
    assert torch.allclose(kept(x), x + kept.conv(x))
    strided = project.InvertedResidual(8, 8, stride=(2, 1)).eval()
    assert not strided.use_shortcut and strided(x).shape == (1, 8, 3, 10)
    assert not project.InvertedResidual(8, 16).use_shortcut


def test_cosine_feature_loss_compares_directions_not_magnitudes(project):
    loss = project.CosineFeatureLoss(reduction='none')
    s = torch.randn(3, 16, 2, 5, requires_grad=True)
    t = torch.randn(3, 16, 2, 5, requires_grad=True)
    assert torch.allclose(loss(s, 4.0 * s.detach()), torch.zeros(3), atol=1e-6)
    assert torch.allclose(loss(s, -s.detach()), torch.full((3, ), 2.0), atol=1e-6)
    loss(s, t).sum().backward()
    assert s.grad is not None and t.grad is None  # the teacher is a target

    # sequences: the cosine runs over D, and masked steps do not count
    seq_s = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    seq_t = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]])
    assert torch.allclose(loss(seq_s, seq_t), torch.tensor([1.5]))
    assert torch.allclose(loss(seq_s, seq_t, mask=torch.tensor([[True, False]])),
                          torch.tensor([1.0]))
    weighted = project.CosineFeatureLoss(loss_weight=0.5)
    assert torch.allclose(weighted(seq_s, seq_t), torch.tensor(0.75))
    # half-precision features (autocast) are compared in float32
    assert weighted(seq_s.bfloat16(), seq_t.bfloat16()).dtype == torch.float32


def test_cosine_feature_loss_names_what_does_not_match(project):
    loss = project.CosineFeatureLoss()
    with pytest.raises(ValueError, match='one shape'):
        loss(torch.randn(2, 8, 3), torch.randn(2, 8, 4))
    with pytest.raises(ValueError, match='mask must be'):
        loss(torch.randn(2, 8, 3), torch.randn(2, 8, 3), mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match='reduction'):
        project.CosineFeatureLoss(reduction='max')


def _occluded(before, after):
    changed = np.argwhere((before != after).any(axis=-1))
    return changed.min(axis=0), changed.max(axis=0) + 1


def test_occlusion_hides_the_same_part_of_lr_and_hr_with_one_flat_grey(project):
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, (20, 60, 3), dtype=np.uint8)
    hr = rng.integers(0, 256, (40, 120, 3), dtype=np.uint8)
    occlude = TRANSFORMS.build(dict(type='RandomPlateOcclusion', prob=1.0, area=(0.05, 0.05)))
    np.random.seed(3)
    out = occlude(dict(img=lr.copy(), img_hr=hr.copy()))
    (lr_top, lr_left), (lr_bottom, lr_right) = _occluded(lr, out['img'])
    (hr_top, hr_left), (hr_bottom, hr_right) = _occluded(hr, out['img_hr'])
    assert np.allclose([hr_top, hr_left, hr_bottom, hr_right],
                       [2 * lr_top, 2 * lr_left, 2 * lr_bottom, 2 * lr_right], atol=1)
    patch = out['img'][lr_top:lr_bottom, lr_left:lr_right]
    assert (patch == patch.flat[0]).all()
    assert (out['img_hr'][hr_top:hr_bottom, hr_left:hr_right] == patch.flat[0]).all()
    assert abs((hr_bottom - hr_top) * (hr_right - hr_left) / hr[..., 0].size - 0.05) < 0.02

    # seeded draws repeat (seed_pipeline); prob 0 changes nothing
    np.random.seed(3)
    again = occlude(dict(img=lr.copy(), img_hr=hr.copy()))
    assert np.array_equal(again['img'], out['img'])
    never = TRANSFORMS.build(dict(type='RandomPlateOcclusion', prob=0.0))
    assert np.array_equal(never(dict(img=lr.copy()))['img'], lr)


def test_occlusion_names_a_range_it_cannot_draw_from(project):
    with pytest.raises(ValueError, match='area'):
        project.RandomPlateOcclusion(area=(0.2, 0.1))
    with pytest.raises(ValueError, match='aspect'):
        project.RandomPlateOcclusion(aspect=(0.0, 1.0))
    with pytest.raises(ValueError, match='prob'):
        project.RandomPlateOcclusion(prob=1.5)


def test_occlusion_covers_a_pixel_of_the_smallest_images(project):
    occlude = project.RandomPlateOcclusion(prob=1.0, area=(0.01, 0.01))
    np.random.seed(0)
    for rows, cols in [(1, 1), (2, 5), (3, 9), (4, 12)]:
        for _ in range(20):
            img = np.full((rows, cols, 3), 255, np.uint8)
            params = occlude._draw()
            params['grey'] = 0
            assert (occlude._transform_image(img, params) == 0).any()
