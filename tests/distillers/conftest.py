"""Tiny DLD models built from the real configs, shrunk to run in seconds."""
import copy

import pytest
import torch
from mmengine.config import Config

from dld.registry import MODELS

TINY = dict(widths=(8, 16, 16, 32), d_model=32, heads=2, layers=1)


def shrink_recognizer(cfg: dict) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg['backbone']['widths'] = TINY['widths']
    cfg['encoder'].update(d_model=TINY['d_model'], num_heads=TINY['heads'],
                          num_layers=TINY['layers'], dropout=0.0)
    if cfg['decoder']['type'] == 'AttentionDecoder':
        cfg['decoder'].update(d_model=TINY['d_model'], num_heads=TINY['heads'],
                              num_layers=TINY['layers'], dropout=0.0)
    else:
        cfg['decoder'].update(dropout=0.0)
    return cfg


def tiny_dld_cfg(config: str = 'configs/dld_plate.py', **overrides) -> dict:
    model = Config.fromfile(config).model.to_dict()
    model['teacher'] = shrink_recognizer(model['teacher'])
    model['student'] = shrink_recognizer(model['student'])
    model.update(overrides)
    return model


@pytest.fixture
def teacher_ckpt(tmp_path):
    """Writes a (random) teacher checkpoint of the tiny attention recognizer."""

    def make(config: str = 'configs/dld_plate.py', seed: int = 0) -> str:
        torch.manual_seed(seed)
        teacher = MODELS.build(tiny_dld_cfg(config)['teacher'])
        path = str(tmp_path / f'teacher_{seed}.pth')
        torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
        return path

    return make


def plate_batch(n: int = 4, seed: int = 0):
    from dld.structures import PlateDataSample
    g = torch.Generator().manual_seed(seed)
    texts = ['ABC1234', 'XYZ9A87', 'AAA1111', 'QWE4R56', 'BRA2E19', 'MMM0000']
    lr = torch.randn(n, 3, 48, 144, generator=g)
    hr = torch.randn(n, 3, 48, 144, generator=g)
    samples = [PlateDataSample(gt_text=texts[i % len(texts)]) for i in range(n)]
    return lr, hr, samples


def record_computed(model) -> list:
    """The (B, k) mask of scales the student reads, as each step draws it."""
    seen = []
    draw = model._scales_to_compute

    def spy(chosen):
        seen.append(draw(chosen))
        return seen[-1]

    model._scales_to_compute = spy
    return seen


@pytest.fixture
def dld_ckpt(teacher_ckpt, tmp_path):
    """A DLD checkpoint whose student differs from its HR teacher."""
    torch.manual_seed(1)
    model = MODELS.build(tiny_dld_cfg('configs/dld_plate_student_online.py',
                                      teacher_ckpt=teacher_ckpt()))
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = str(tmp_path / 'dld_cycle.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path, {k: v.clone() for k, v in model.state_dict().items()}
