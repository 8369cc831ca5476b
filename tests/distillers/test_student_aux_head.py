"""A student with a training-only CTC head (TextRecognizer.aux_decoder):
the distiller trains the head at every scale the student reads, as the
recognizer trains it alone, and still copies the teacher into the student."""
import pytest
import torch

from dld.registry import MODELS

from .conftest import plate_batch, tiny_dld_cfg

AUX = dict(type='CTCDecoder', module_loss=dict(type='CTCModuleLoss', loss_weight=0.5))


def build(teacher_path, aux=AUX, **overrides):
    cfg = tiny_dld_cfg(teacher_ckpt=teacher_path, **overrides)
    cfg['student'] = dict(cfg['student'], aux_decoder=aux)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def test_the_aux_loss_is_the_recognizers_own_and_the_teacher_is_still_copied(teacher_ckpt):
    model = build(teacher_ckpt(), selector=None, fixed_scale=1.0)
    teacher = model.teacher.state_dict()
    for key, value in model.student.state_dict().items():
        if not key.startswith('aux_decoder.'):
            assert torch.equal(value, teacher[key]), key
    model.train()
    lr, hr, samples = plate_batch(4)
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    alone = model.student.loss(lr, samples)
    assert torch.allclose(losses['loss_aux'], alone['aux_loss_ctc'], rtol=1e-5)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    grads = [p.grad for p in model.student.aux_decoder.parameters()]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_the_aux_head_trains_at_every_scale_read_and_not_in_the_selector_stage(teacher_ckpt):
    model = build(teacher_ckpt(), scale_strategy='all')
    model.train()
    lr, hr, samples = plate_batch(4)
    per_scale = {}
    original = model._aux_terms

    def recording(encoder_out, gt):
        per_scale[encoder_out.shape[1]] = len(gt)
        return original(encoder_out, gt)

    model._aux_terms = recording
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    assert torch.isfinite(losses['loss_aux'])
    # one memory length per candidate scale, each for every image
    assert len(per_scale) == len(model.scales) and set(per_scale.values()) == {4}

    selector_stage = build(teacher_ckpt(), train_student=False)
    selector_stage.train()
    assert 'loss_aux' not in selector_stage(lr, samples, mode='loss', inputs_hr=hr)


def test_an_aux_head_without_per_sample_losses_is_refused(teacher_ckpt):
    aux = dict(type='AttentionDecoder', cell='gru', d_model=32, max_seq_len=8,
               dictionary=dict(type='Dictionary', with_start_end=True, with_padding=True),
               module_loss=dict(type='CEModuleLoss'),
               postprocessor=dict(type='AttentionPostProcessor'))
    with pytest.raises(ValueError, match='aux_decoder.*per-sample'):
        build(teacher_ckpt(), aux=aux)


def test_a_label_too_long_for_a_small_scales_memory_gives_no_inf(teacher_ckpt):
    # 'AAA1111' needs 12 CTC frames (7 characters, 5 repeats); 0.3x gives 11.
    aux = dict(AUX, module_loss=dict(type='CTCModuleLoss', loss_weight=0.5,
                                     zero_infinity=False))
    model = build(teacher_ckpt(), aux=aux, scale_strategy='all')
    model.train()
    lr, hr, samples = plate_batch(4)
    assert samples[2].gt_text == 'AAA1111'
    losses = model(lr, samples, mode='loss', inputs_hr=hr)
    assert torch.isfinite(losses['loss_aux'])


def test_a_teacher_trained_with_a_head_is_still_copied_into_a_student_with_one(tmp_path):
    torch.manual_seed(3)
    teacher = MODELS.build(dict(tiny_dld_cfg()['teacher'], aux_decoder=AUX))
    path = str(tmp_path / 'teacher_aux.pth')
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    model = build(path, selector=None, fixed_scale=1.0)
    trained = teacher.state_dict()
    student = model.student.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in student.items()
               if not k.startswith('aux_decoder.'))
    # the head keeps its own initialisation, not the teacher's head
    assert not torch.equal(student['aux_decoder.classifier.weight'],
                           trained['aux_decoder.classifier.weight'])


def test_the_aux_head_keeps_its_own_init_cfg_when_the_student_is_copied(teacher_ckpt):
    """The copied student is marked initialised so the runner's init_weights()
    keeps the teacher's weights; its head, not copied, is initialised as
    configured, as in a student that starts from scratch."""
    aux = dict(AUX, init_cfg=dict(type='Constant', layer='Linear', val=0.25, bias=0.0))
    model = build(teacher_ckpt(), aux=aux, selector=None, fixed_scale=1.0)
    model.init_weights()  # what the runner does before training
    linears = [m for m in model.student.aux_decoder.modules()
               if isinstance(m, torch.nn.Linear)]
    assert linears and all(torch.all(m.weight == 0.25) for m in linears)
    teacher = model.teacher.state_dict()
    for key, value in model.student.state_dict().items():
        if not key.startswith('aux_decoder.'):
            assert torch.equal(value, teacher[key]), key
