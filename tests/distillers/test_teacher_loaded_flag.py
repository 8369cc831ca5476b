"""``teacher_loaded`` says the teacher holds trained weights; a state dict
carries it over only together with the teacher's weights."""
import pytest
import torch

from dld.registry import MODELS

from .conftest import plate_batch, tiny_dld_cfg


@pytest.fixture
def trained_state(teacher_ckpt):
    torch.manual_seed(0)
    return MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt())).state_dict()


def without_teacher(state):
    """What tools/extract_student.py keeps: every key but ``teacher.*``."""
    return {k: v for k, v in state.items() if not k.startswith('teacher.')}


def test_a_state_dict_without_the_teacher_does_not_mark_a_random_teacher_trained(
        trained_state):
    assert bool(trained_state['teacher_loaded'])
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=None))
    model.load_state_dict(without_teacher(trained_state), strict=False)  # as load_from does
    assert not bool(model.teacher_loaded)
    lr, hr, samples = plate_batch(2)
    with pytest.raises(RuntimeError, match='teacher has no trained weights'):
        model.train()(lr, samples, mode='loss', inputs_hr=hr)


def test_a_state_dict_with_the_teacher_brings_its_flag(trained_state):
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=None))
    model.load_state_dict(trained_state)
    assert bool(model.teacher_loaded)


def test_a_loaded_teacher_stays_loaded_under_a_state_dict_without_it(teacher_ckpt,
                                                                     trained_state):
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt(seed=1)))
    state = without_teacher(trained_state)
    state['teacher_loaded'] = torch.tensor(False)
    model.load_state_dict(state, strict=False)
    assert bool(model.teacher_loaded)


def test_a_student_as_teacher_without_its_checkpoint_names_a_dld_run(tmp_path):
    """It said to train configs/teacher_plate_hr.py, whose checkpoint this
    setting refuses (it holds no student)."""
    model = MODELS.build(tiny_dld_cfg(teacher_ckpt=None, teacher_from='student'))
    lr, hr, samples = plate_batch(2)
    with pytest.raises(RuntimeError, match=r"set `model.teacher_ckpt` \(a DLD run's "
                       r"checkpoint, whose student becomes the teacher"):
        model.train()(lr, samples, mode='loss', inputs_hr=hr)
    with pytest.raises(FileNotFoundError, match="Train a DLD run first; its student becomes "
                       "the teacher"):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=str(tmp_path / 'none.pth'),
                                  teacher_from='student'))
