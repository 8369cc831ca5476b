"""A fine-tune from an extracted student (no teacher weights) with no
model.teacher_ckpt: refused in one line before training (it stopped at the
first step with a traceback, after an INFO line about teacher.* weights)."""
import pytest
import torch
from mmengine.registry import init_default_scope
from tiny_dld import dld_config

from dld.registry import MODELS


def test_an_extracted_student_without_a_teacher_ckpt_is_refused(tmp_path):
    from dld.engine.start_checkpoint import StartCheckpointError, check_start_checkpoint
    init_default_scope('dld')
    trained = MODELS.build(dld_config(str(tmp_path))['model'])
    trained.teacher_loaded.fill_(True)  # as a run distilled from a teacher saves it
    state = trained.state_dict()
    full, student = tmp_path / 'full.pth', tmp_path / 'student.pth'
    torch.save(dict(state_dict=state, meta={}), full)
    torch.save(dict(state_dict={k: v for k, v in state.items()
                                if not k.startswith('teacher.')}, meta={}), student)
    model = MODELS.build(dld_config(str(tmp_path))['model'])  # teacher_ckpt=None
    with pytest.raises(StartCheckpointError, match=r'holds no teacher weights .*set '
                       r'model.teacher_ckpt'):
        check_start_checkpoint(model, str(student), resume=False)
    check_start_checkpoint(model, str(full), resume=False)  # its teacher is the checkpoint's
