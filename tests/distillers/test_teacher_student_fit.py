"""Teacher, student, selector and scales that cannot work together: refused
when the model is built (or at the first step, for the data), where each
trained without a word."""
import copy

import pytest
import torch
from log_records import current_log_records

from dld.registry import MODELS

from .conftest import plate_batch, tiny_dld_cfg


def build(cfg=None, **overrides):
    torch.manual_seed(0)
    return MODELS.build(dict(cfg or tiny_dld_cfg(teacher_ckpt=None), **overrides))


def test_dictionaries_of_another_order_are_refused(tmp_path):
    """The teacher read the ground truth UQG3735 as 59JWSWU."""
    chars = [str(d) for d in range(10)] + [chr(c) for c in range(ord('A'), ord('Z') + 1)]
    forward, backward = tmp_path / 'chars.txt', tmp_path / 'reversed.txt'
    forward.write_text('\n'.join(chars) + '\n')
    backward.write_text('\n'.join(reversed(chars)) + '\n')
    cfg = tiny_dld_cfg(teacher_ckpt=None)
    cfg['student']['decoder']['dictionary'] = dict(type='Dictionary', dict_file=str(backward))
    with pytest.raises(ValueError, match=r"dictionaries differ \(36 and 36 characters; "
                       r'first difference at index 0: the teacher holds '):
        build(cfg)
    cfg['student']['decoder']['dictionary']['dict_file'] = str(tmp_path / 'digits.txt')
    (tmp_path / 'digits.txt').write_text('\n'.join(chars[:10]) + '\n')
    with pytest.raises(ValueError, match=r'\(36 and 10 characters; first difference at '
                                         r"index 10: the teacher holds 'A', the student's "
                                         r'ends there'):
        build(cfg)
    cfg['student']['decoder']['dictionary']['dict_file'] = str(forward)  # the same characters
    build(cfg)


def test_attention_decoders_of_other_max_seq_len_are_refused():
    """The decoder hidden-state L2 interpolated the student's 21 steps onto
    the teacher's 26 (step 20 against a blend of 16 and 17), and logit KD
    failed at the first step asking for a time resampling."""
    cfg = tiny_dld_cfg(teacher_ckpt=None)
    cfg['teacher']['decoder']['max_seq_len'] = 10
    with pytest.raises(ValueError, match=r'model\.teacher\.decoder\.max_seq_len=10 differs '
                                         r'from model\.student\.decoder\.max_seq_len=8'):
        build(cfg)
    cfg['student']['decoder']['max_seq_len'] = 10
    build(cfg)


def test_a_model_of_other_max_seq_len_trained_before_the_check_still_reads():
    """Its student reads alone (infer.py, test.py, the reports, the ONNX
    export): only training compares the two decoders' steps."""
    from dld.apis.model_loading import build_model_for_inference
    cfg = tiny_dld_cfg(teacher_ckpt=None)
    cfg['student']['decoder']['max_seq_len'] = 10
    model = build_model_for_inference(cfg)
    assert model.student.decoder.max_seq_len == 10
    with pytest.raises(ValueError, match='max_seq_len'):  # and training still refuses it
        build(cfg)


def test_logit_kd_across_decoder_families_is_refused_and_skd_is_not():
    """Attention's per-character distributions were compared with CTC's per
    frame ones, resized, class 36 <EOS> against <BLK>."""
    ctc = tiny_dld_cfg('configs/dld_plate_ctc.py', teacher_ckpt=None)
    for teacher, student in ((tiny_dld_cfg(teacher_ckpt=None)['teacher'], ctc['student']),
                             (ctc['teacher'], tiny_dld_cfg(teacher_ckpt=None)['student'])):
        cfg = dict(tiny_dld_cfg(teacher_ckpt=None), teacher=teacher, student=student)
        model = build(cfg)  # SKD and features across families are fine
        assert model.logit_loss is None and model.skd_loss is not None
        cfg['losses'] = dict(cfg['losses'], logit=dict(type='KLDivLoss'))
        with pytest.raises(ValueError, match=r'model.losses.logit compares .*set '
                                             r'model.losses.logit=None'):
            build(cfg)


@pytest.mark.parametrize('overrides, name', [
    (dict(scales=(1.2, 1.0, 0.5)), 'scales: 1.2'),
    (dict(selector=None, fixed_scale=0.0), 'fixed_scale: 0'),
    (dict(selector=None, fixed_scale=1.5), 'fixed_scale: 1.5'),
    (dict(scales=(1.0, float('nan'))), 'scales: nan'),
    (dict(teacher_scale=1.5), 'teacher_scale: 1.5')])
def test_a_scale_outside_zero_to_one_is_refused(overrides, name):
    """1.2 read every image at 158 % of the teacher's FLOPs; fixed_scale=0 failed
    at the first step."""
    with pytest.raises(ValueError, match=rf'model.{name} is not in \(0, 1\]'):
        build(**overrides)


def test_a_grey_student_gets_a_grey_selector_and_a_colour_teacher_is_refused():
    """The selector was built for 3 channels and failed on the first image."""
    cfg = tiny_dld_cfg(teacher_ckpt=None)
    for part in ('teacher', 'student'):
        cfg[part]['backbone']['in_channels'] = 1
    cfg['data_preprocessor'] = dict(cfg['data_preprocessor'], channels=1, mean=[127.5],
                                    std=[127.5])
    model = build(cfg).eval()
    lr, _, samples = plate_batch(2)
    with torch.no_grad():
        read = model.predict(lr[:, :1], copy.deepcopy(samples))
    assert len(read) == 2 and model.selector.features[0].in_channels == 1
    cfg['teacher']['backbone']['in_channels'] = 3
    with pytest.raises(ValueError, match=r'teacher reads 3 channel\(s\) and the student 1 '
                       r'\(model.teacher.backbone.in_channels=3, '
                       r'model.student.backbone.in_channels=1\)'):
        build(cfg)
    # the way out is named: a 3-channel student, or a grey teacher
    with pytest.raises(ValueError, match='keep the student at 3 channels'):
        build(cfg)
    cfg['teacher']['backbone']['in_channels'] = 1
    cfg['data_preprocessor'] = dict(cfg['data_preprocessor'], channels=3)
    # each key named as a config sets it (it was "backbone.in_channels")
    with pytest.raises(ValueError, match=r'model.data_preprocessor.channels=3 but '
                       r'model.teacher.backbone.in_channels=1 and '
                       r'model.student.backbone.in_channels=1: '):
        build(cfg)


def test_a_selector_loss_without_a_selector_is_said_to_be_unread():
    with current_log_records() as records:
        build(selector=None, fixed_scale=0.5)
    assert [r.getMessage() for r in records if 'is not read without a selector' in
            r.getMessage()]
    with current_log_records() as records:
        build(selector=None, fixed_scale=0.5,
              losses=dict(tiny_dld_cfg()['losses'], selector=None))
    assert not [r for r in records if 'is not read without a selector' in r.getMessage()]


def test_hr_crops_of_another_size_than_base_size_are_refused(teacher_ckpt):
    """The teacher's FLOPs were counted at base_size (0.149 GFLOPs for a
    teacher that read 48x144 crops at 0.325)."""
    model = build(tiny_dld_cfg(teacher_ckpt=teacher_ckpt())).train()
    lr, _, samples = plate_batch(2)
    with pytest.raises(ValueError, match=r'HR crops of 64x192, but base_size=\(48, 144\)'):
        model(lr, samples, mode='loss', inputs_hr=torch.randn(2, 3, 64, 192))


def test_a_teacher_described_with_other_shape_free_settings_is_warned_of(tmp_path):
    """A teacher trained at other strides loaded into a model.teacher of the
    base config's strides without a word (no weight's shape depends on them)."""
    cfg = tiny_dld_cfg(teacher_ckpt=None)
    torch.manual_seed(0)
    teacher = MODELS.build(cfg['teacher'])
    saved = ("model = dict(type='TextRecognizer', data_preprocessor=dict(mean=[127.5] * 3, "
             "std=[127.5, 127.5, 127.5]), backbone=dict(widths=(8, 16, 16, 32), "
             "strides=[[2, 2], [2, 2], [2, 1], [1, 2]]), decoder=dict(max_seq_len=8))\n")
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict(cfg=saved)), path)
    with current_log_records() as records:
        build(dict(cfg, teacher_ckpt=path))
    said = [r.getMessage() for r in records if 'trained with other settings' in r.getMessage()]
    assert len(said) == 1 and 'model.teacher.backbone.strides=((2, 2), (2, 2), (2, 1), (1, 1)) ' \
        '(trained with ((2, 2), (2, 2), (2, 1), (1, 2)))' in said[0]
    assert 'max_seq_len' not in said[0] and 'mean' not in said[0]  # alike, or not a literal
    cfg['teacher']['backbone']['strides'] = ((2, 2), (2, 2), (2, 1), (1, 2))
    with current_log_records() as records:
        build(dict(cfg, teacher_ckpt=path))
    assert not [r for r in records if 'trained with other settings' in r.getMessage()]


def test_connector_settings_are_refused_naming_the_level_or_said_to_be_unread():
    cfg = tiny_dld_cfg(teacher_ckpt=None)
    cfg['teacher']['backbone']['widths'] = (8, 16, 16, 64)
    with pytest.raises(ValueError, match=r'model\.connectors\.backbone: .*cannot map 32 to 64 '
                                         r".*the student's backbone gives 32, the teacher's 64"):
        build(cfg, connectors=dict(backbone=dict(learned=False)))
    ctc = tiny_dld_cfg('configs/dld_plate_ctc.py', teacher_ckpt=None)
    with current_log_records() as records:
        build(dict(tiny_dld_cfg(teacher_ckpt=None), teacher=ctc['teacher']),
              connectors=dict(decoder=dict(init='identity')),
              feature_levels=dict(backbone=0.0, encoder=0.0, decoder=1.0))
    said = [r.getMessage() for r in records]
    assert any('model.connectors sets decoder, which is not read' in m for m in said)
    assert any('weighs only the decoder level' in m for m in said)
