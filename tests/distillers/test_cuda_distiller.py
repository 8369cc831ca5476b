"""The distiller on a GPU (skipped without CUDA; run where one is lent): a
training step under autocast, prediction, and a born-again teacher kept
through ``load_from`` on the device."""
import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from dld.engine.checkpoint import submodule_state
from dld.registry import MODELS

from .conftest import plate_batch, tiny_dld_cfg
from .test_born_again_teacher import LR_TEACHER

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16, torch.bfloat16])
def test_a_training_step_and_a_prediction_on_the_gpu(teacher_ckpt, dtype):
    model = MODELS.build(tiny_dld_cfg('configs/dld_plate.py', teacher_ckpt=teacher_ckpt()))
    model = model.cuda().train()
    lr, hr, samples = plate_batch()
    for ds, ratio in zip(samples, [1.0, 0.6, 0.98, 0.8]):  # padded LR: resize_content
        ds.set_metainfo(dict(valid_ratio=ratio))
    with torch.autocast('cuda', dtype=dtype, enabled=dtype != torch.float32):
        losses = model.loss(lr.cuda(), samples, inputs_hr=hr.cuda())
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.student.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert all(p.grad is None for p in model.teacher.parameters())

    model.eval()
    with torch.no_grad(), torch.autocast('cuda', dtype=dtype, enabled=dtype != torch.float32):
        out = model.predict(lr.cuda(), plate_batch()[2])
    assert len(out) == 4 and all(s.pred_text is not None for s in out)


def test_a_born_again_teacher_survives_load_from_on_the_gpu(dld_ckpt):
    path, saved = dld_ckpt
    model = MODELS.build(tiny_dld_cfg(LR_TEACHER, teacher_ckpt=path)).cuda()
    load_checkpoint(model, path, map_location='cpu', strict=True)
    student = submodule_state(saved, 'student')
    assert all(torch.equal(v.cpu(), student[k]) for k, v in model.teacher.state_dict().items())
    assert all(v.device.type == 'cuda' for v in model.teacher.state_dict().values())
