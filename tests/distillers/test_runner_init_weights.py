"""MMEngine's runner calls ``model.init_weights()`` before training (before
``load_from`` or resume): it must not undo the teacher the distiller loaded,
nor the student it copied from that teacher."""
import torch

from dld.registry import MODELS

from .conftest import tiny_dld_cfg

KAIMING = dict(type='Kaiming', layer='Conv2d')


def build_with_init_cfg(teacher_path, **overrides):
    cfg = tiny_dld_cfg(teacher_ckpt=teacher_path, **overrides)
    cfg['teacher']['init_cfg'] = KAIMING
    cfg['student']['init_cfg'] = KAIMING
    torch.manual_seed(0)
    return MODELS.build(cfg)


def changed(module, before):
    return [k for k, v in module.state_dict().items() if not torch.equal(v, before[k])]


def test_init_weights_keeps_the_loaded_teacher_and_the_student_copied_from_it(teacher_ckpt):
    path = teacher_ckpt()
    model = build_with_init_cfg(path)
    saved = torch.load(path, weights_only=True)['state_dict']
    student = {k: v.clone() for k, v in model.student.state_dict().items()}
    torch.manual_seed(1)
    model.init_weights()
    assert changed(model.teacher, saved) == []
    assert changed(model.student, student) == []


def test_init_weights_still_initialises_a_student_not_copied_from_the_teacher(teacher_ckpt):
    path = teacher_ckpt()
    model = build_with_init_cfg(path, init_student_from_teacher=False)
    saved = torch.load(path, weights_only=True)['state_dict']
    student = {k: v.clone() for k, v in model.student.state_dict().items()}
    torch.manual_seed(1)
    model.init_weights()
    assert changed(model.teacher, saved) == []
    assert 'backbone.stem.0.weight' in changed(model.student, student)


def test_a_student_of_another_decoder_family_starts_from_the_teachers_other_parts(
        teacher_ckpt):
    """A CTC student of an attention teacher: its backbone and encoder have
    the teacher's shapes, yet were all left random ("differ in shape"),
    and stay copied through a student init_cfg."""
    from .conftest import shrink_recognizer
    path = teacher_ckpt()
    ctc = shrink_recognizer(tiny_dld_cfg('configs/dld_plate_ctc.py')['student'])
    cfg = tiny_dld_cfg(teacher_ckpt=path, student=dict(ctc, init_cfg=KAIMING))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    teacher = {k: v.clone() for k, v in model.teacher.state_dict().items()}

    def same_as_teacher(part):
        own = getattr(model.student, part).state_dict()
        return all(torch.equal(v, teacher[f'{part}.{k}'].expand_as(v)) for k, v in own.items())

    torch.manual_seed(1)
    model.init_weights()
    assert same_as_teacher('backbone') and same_as_teacher('encoder')
    assert type(model.student.decoder).__name__ == 'CTCDecoder'
