"""A trained LR student as the next cycle's teacher (teacher_from='student',
teacher_input='lr'): configs/dld_plate_student_online_lrteacher.py."""
import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from dld.engine.checkpoint import submodule_state
from dld.registry import MODELS

from .conftest import plate_batch, tiny_dld_cfg

LR_TEACHER = 'configs/dld_plate_student_online_lrteacher.py'


def test_teacher_is_the_checkpoints_student_and_survives_load_from(dld_ckpt):
    path, saved = dld_ckpt
    model = MODELS.build(tiny_dld_cfg(LR_TEACHER, teacher_ckpt=path))
    student = submodule_state(saved, 'student')
    hr_teacher = submodule_state(saved, 'teacher')
    assert any(not torch.equal(student[k], hr_teacher[k]) for k in student)

    def teacher_is_student():
        return all(torch.equal(v, student[k]) for k, v in model.teacher.state_dict().items())

    assert teacher_is_student()
    # load_from (and resume) load the whole checkpoint, HR teacher included.
    load_checkpoint(model, path, map_location='cpu', strict=True)
    assert teacher_is_student()
    assert all(torch.equal(v, student[k]) for k, v in model.student.state_dict().items())
    selector = submodule_state(saved, 'selector')
    assert all(torch.equal(v, selector[k]) for k, v in model.selector.state_dict().items())


def test_hr_teacher_of_a_dld_checkpoint_is_loaded_as_before(dld_ckpt):
    path, saved = dld_ckpt
    model = MODELS.build(tiny_dld_cfg('configs/dld_plate_student_online.py', teacher_ckpt=path))
    hr_teacher = submodule_state(saved, 'teacher')
    assert all(torch.equal(v, hr_teacher[k]) for k, v in model.teacher.state_dict().items())


def test_lr_teacher_reads_the_lr_stream_at_its_scale(dld_ckpt):
    path, _ = dld_ckpt
    model = MODELS.build(tiny_dld_cfg(LR_TEACHER, teacher_ckpt=path)).train()
    seen = []
    forward = model.teacher.forward_features
    model.teacher.forward_features = lambda x, **kw: seen.append(x) or forward(x, **kw)
    lr, _, samples = plate_batch()
    losses = model.loss(lr, samples, inputs_hr=None)  # no HR stream needed
    assert torch.equal(seen[0], model.resize(lr, 0.8))
    assert seen[0].shape[-2:] == (38, 115)
    assert losses['loss_skd'] > 0 and losses['loss_feature'] > 0
    losses['loss_skd'].backward()
    assert all(p.grad is None for p in model.teacher.parameters())


def test_hr_teacher_still_needs_the_hr_stream(teacher_ckpt):
    model = MODELS.build(tiny_dld_cfg('configs/dld_plate_student_online.py',
                                      teacher_ckpt=teacher_ckpt())).train()
    lr, _, samples = plate_batch()
    with pytest.raises(ValueError, match='HR stream'):
        model.loss(lr, samples, inputs_hr=None)


def test_student_teacher_needs_a_dld_checkpoint(teacher_ckpt):
    path = teacher_ckpt()
    with pytest.raises(ValueError, match=f'{path} holds no student weights'):
        MODELS.build(tiny_dld_cfg(LR_TEACHER, teacher_ckpt=path))


def test_teacher_without_per_scale_batchnorm_names_scale_norm(dld_ckpt):
    path, _ = dld_ckpt
    cfg = tiny_dld_cfg(LR_TEACHER, teacher_ckpt=path)
    cfg['teacher'].pop('scale_norm')
    with pytest.raises(RuntimeError, match='scale_norm'):
        MODELS.build(cfg)


@pytest.mark.parametrize('option, value, match', [
    ('teacher_scale', 0.0, 'teacher_scale'),
    ('teacher_scale', 1.5, 'teacher_scale'),
    ('teacher_input', 'both', 'teacher_input'),
    ('teacher_from', 'selector', 'teacher_from'),
])
def test_bad_teacher_options_fail_at_build(option, value, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(tiny_dld_cfg(LR_TEACHER, **{option: value}))


def test_teacher_gate_keeps_the_teachers_losses_where_it_reads_right(dld_ckpt):
    path, _ = dld_ckpt
    torch.manual_seed(0)
    cfg = tiny_dld_cfg(LR_TEACHER, teacher_ckpt=path, teacher_gate='top1_right')
    cfg['losses']['logit'] = dict(type='KLDivLoss')
    model = MODELS.build(cfg)
    model.train()
    model.student.eval()  # no dropout: gated and ungated terms must agree where kept
    lr, _, samples = plate_batch(4, seed=2)
    gt = model.student.encode_targets([ds.gt_text for ds in samples])
    search = model.teacher.decoder.beam_search

    def right_on_first_two(*args, **kwargs):  # top beams: the truth for images 0 and 1
        seqs, scores = search(*args, **kwargs)
        for i in range(4):
            seqs[i][0] = list(gt[i]) if i < 2 else list(gt[i]) + list(gt[i][:1])
        return seqs, scores

    model.teacher.decoder.beam_search = right_on_first_two
    teacher = model._run_teacher(model.teacher_view(lr, None), gt)
    assert teacher['gate'].tolist() == [1.0, 1.0, 0.0, 0.0]
    idx = torch.arange(4)
    x = model.resize(lr, 0.6)
    gated = model._student_terms(x, idx, gt, teacher)
    ungated = model._student_terms(x, idx, gt, dict(teacher, gate=torch.ones(4)))
    for name in ('skd', 'logit'):
        assert torch.all(ungated[name][2:] > 0) and torch.all(gated[name][2:] == 0)
        torch.testing.assert_close(gated[name][:2], ungated[name][:2])
    torch.testing.assert_close(gated['task'], ungated['task'])
    losses = model.loss(lr, samples, inputs_hr=None)
    assert losses['teacher_top1_right'] == pytest.approx(0.5)


def test_without_the_gate_no_teacher_reading_is_judged(dld_ckpt):
    path, _ = dld_ckpt
    model = MODELS.build(tiny_dld_cfg(LR_TEACHER, teacher_ckpt=path)).train()
    lr, _, samples = plate_batch()
    assert 'teacher_top1_right' not in model.loss(lr, samples, inputs_hr=None)
    with pytest.raises(ValueError, match='teacher_gate'):
        MODELS.build(tiny_dld_cfg(LR_TEACHER, teacher_gate='always'))



@pytest.mark.parametrize('config, expect', [(LR_TEACHER, [1.0, 0.5, 0.6, 1.0]),
                                            ('configs/dld_plate_student_online.py', None)])
def test_lr_teacher_reads_a_padded_frame_as_its_content(dld_ckpt, config, expect):
    """An LR teacher reads the student's padded LR frame: its features and
    beams come from the steps that show the plate, as the student reads it;
    an HR teacher reads the stretched HR frame whole."""
    path, _ = dld_ckpt
    lr, hr, samples = plate_batch()
    for ds, ratio in zip(samples, [1.0, 0.5, 0.6, 1.0]):
        ds.set_metainfo(dict(valid_ratio=ratio))
    model = MODELS.build(tiny_dld_cfg(config, teacher_ckpt=path)).train()
    seen = {}
    forward, beams = model.teacher.forward_features, model.teacher.decoder.beam_search
    model.teacher.forward_features = lambda x, **kw: (
        seen.update(ratios=kw.get('valid_ratios')) or forward(x, **kw))
    model.teacher.decoder.beam_search = lambda *a, **kw: (
        seen.update(mask=kw.get('memory_mask')) or beams(*a, **kw))
    model.loss(lr, samples, inputs_hr=hr)
    assert seen['ratios'] == expect
    if expect is None:
        assert seen['mask'] is None
    else:
        width = seen['mask'].shape[1]
        assert seen['mask'].sum(1).tolist() == [
            width, -(-width // 2), -(-(width * 6) // 10), width]
