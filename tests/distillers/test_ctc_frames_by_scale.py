"""A CTC student's frames at each scale, against the training labels."""
from types import SimpleNamespace
from unittest import mock

import cv2
import numpy as np
from mmengine.registry import init_default_scope

from dld.datasets import PairedPlateDataset
from dld.engine.hooks import LabelLengthCheckHook
from dld.models.distillers.ctc_frames import (
    ctc_frames_by_scale,
    ctc_length,
    frames_at_scales,
    recognizer_ctc_frames,
)
from dld.registry import MODELS

from .conftest import tiny_dld_cfg


def _labels(root, name, *texts):
    lines = []
    for i, text in enumerate(texts):
        for kind in ('lr', 'hr'):
            cv2.imwrite(str(root / f'{name}-{kind}{i}.png'), np.zeros((8, 24, 3), np.uint8))
        lines.append(f'{name}-lr{i}.png|{name}-hr{i}.png\t{text}')
    (root / name).write_text('\n'.join(lines) + '\n')
    return SimpleNamespace(dataset=PairedPlateDataset(data_root=str(root), ann_file=name,
                                                      frames='all'))


def test_a_ctc_student_reading_fewer_frames_than_a_label_needs_at_a_scale_warns(tmp_path):
    """A CTC student of width stride 8 read 6 frames at 0.3x, fewer than a
    7-character plate needs, and nothing said so (an extension journey)."""
    init_default_scope('dld')
    model = MODELS.build(tiny_dld_cfg(config='configs/dld_plate_ctc.py', teacher_ckpt=None))
    frames = ctc_frames_by_scale(model)
    assert sorted(frames) == sorted(model.scales)
    steps = {s: t for s, (t, _) in frames.items()}
    smallest = min(steps)
    assert steps[1.0] > steps[smallest] > 0  # a smaller input, fewer frames
    assert ctc_length('ABC1234') == 7 and ctc_length('AAB11') == 7  # a blank between alike
    need = steps[smallest] + 1  # more than the smallest scale reads, not than 1.0
    assert need <= steps[1.0]
    longer = ('AB' * need)[:need]
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_labels(tmp_path, 'a.txt', 'A', longer),
            val_loop=None))
    said = [c.args[0] for c in log.call_args_list]
    assert said[-1].startswith(f'At scale {smallest:g} (a ')
    assert f'the CTC student reads {steps[smallest]} frame(s): 1 of 2 training label(s) need ' \
        f"more (e.g. {tmp_path / 'a.txt'}:2: {longer!r} needs {need})" in said[-1]
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_labels(tmp_path, 'b.txt', 'AB'), val_loop=None))
    assert not log.called
    # an attention student: nothing to count
    attention = MODELS.build(tiny_dld_cfg(teacher_ckpt=None))
    assert ctc_frames_by_scale(attention) == {}


def _track_labels(root, name, frames, *texts):
    """A label file of tracks of ``frames`` LR/HR frames each."""
    lines = []
    for i, text in enumerate(texts):
        names = {kind: [f'{name}-{kind}{i}-{k}.png' for k in range(frames)]
                 for kind in ('lr', 'hr')}
        for n in names['lr'] + names['hr']:
            cv2.imwrite(str(root / n), np.zeros((8, 24, 3), np.uint8))
        lines.append(f"{','.join(names['lr'])}|{','.join(names['hr'])}\t{text}")
    (root / name).write_text('\n'.join(lines) + '\n')
    return SimpleNamespace(dataset=PairedPlateDataset(data_root=str(root), ann_file=name,
                                                      frames='all'))


def test_a_ctc_student_s_label_no_scale_reads_stops_training_and_warns_at_test(tmp_path):
    """It only warned, once per scale with advice to drop small scales, for
    a label needing more frames than even scale 1.0 gives; test.py said
    nothing of such test labels (a CTC journey). Labels of tracks count
    once, not once a frame."""
    import pytest

    from dld.engine.hooks.label_check_hook import LabelCheckError
    init_default_scope('dld')
    model = MODELS.build(tiny_dld_cfg(config='configs/dld_plate_ctc.py', teacher_ckpt=None))
    frames = ctc_frames_by_scale(model)
    top, (steps, (h, w)) = max(frames.items())
    too_long = 'A' * steps  # 2 * steps - 1 frames with the blanks
    loader = _track_labels(tmp_path, 'a.txt', 3, 'AB', too_long)
    with pytest.raises(LabelCheckError) as info:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=loader, val_loop=None))
    said = str(info.value)
    assert said.startswith(f'1 training label(s) need more than the {steps} frame(s) the CTC '
                           f'student reads at its largest scale, {top:g} (a {h}x{w} input)')
    assert 'no scale reads them' in said
    assert f"a.txt:2: {too_long!r} (needs {2 * steps - 1} frames)" in said
    # a selector stage (its student trained already) warns instead
    model.train_student = False
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=loader, val_loop=None))
    said = [c.args[0] for c in log.call_args_list]
    assert said[0].startswith('1 training label(s) need more than ')
    # each smaller scale's warning counts the two labels, not their six frames
    assert all(' of 2 training label(s) need more' in line for line in said[1:]) and said[1:]
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_test(SimpleNamespace(model=model,
                                                           test_dataloader=loader))
    assert log.call_args.args[0].startswith(f'1 test label(s) need more than the {steps} '
                                            'frame(s) the CTC student reads at its largest')


def _ctc_recognizer(**kw):
    from dld.utils import read_config
    cfg = read_config('configs/teacher_plate_hr_ctc.py').model
    cfg.update(kw)
    return MODELS.build(cfg)


def _with_pipeline(root, name, size, *texts):
    """``_labels``' set read by a pipeline that packs the HR image at ``size``."""
    loader = _labels(root, name, *texts)
    loader.dataset = PairedPlateDataset(
        data_root=str(root), ann_file=name, frames='all', pipeline=[
            dict(type='LoadPlateImages', with_lr=False, with_hr=True),
            dict(type='ResizePair', lr_size=size, hr_size=size),
            dict(type='PackPlateInputs', main_stream='hr')])
    return loader


def test_a_ctc_recognizer_of_its_own_refuses_training_labels_it_cannot_align(tmp_path):
    """A plain CTC recognizer trained on a label needing more frames than it
    reads: CTC's loss of it was zero (zero_infinity), the label dropped
    without a word, where an attention decoder's too long label stops the run."""
    import pytest

    from dld.engine.hooks.label_check_hook import LabelCheckError
    init_default_scope('dld')
    model = _ctc_recognizer()
    size = (32, 64)
    fits = _with_pipeline(tmp_path, 'a.txt', size, 'AB')
    [(scale, (frames, shape))] = recognizer_ctc_frames(model, fits).items()
    assert scale == 1.0 and shape == size and 2 < frames < 40
    too_long = 'A' * frames  # a blank between alike: 2 * frames - 1 needed
    with pytest.raises(LabelCheckError) as info:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_with_pipeline(tmp_path, 'b.txt', size, 'AB',
                                                          too_long), val_loop=None))
    msg = str(info.value)
    assert msg.startswith(f'1 training label(s) need more than the {frames} frame(s) the CTC '
                          'recognizer reads at its 32x64 input')
    assert f"b.txt:2: {too_long!r} (needs {2 * frames - 1} frames)" in msg
    LabelLengthCheckHook().before_train(SimpleNamespace(model=model, train_dataloader=fits,
                                                        val_loop=None))
    # a test label so long only warns (an honest misread)
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_test(SimpleNamespace(
            model=model, test_dataloader=_with_pipeline(tmp_path, 'c.txt', size, too_long)))
    assert log.call_args.args[0].startswith('1 test label(s) need more than the '
                                            f'{frames} frame(s)')


def test_a_ctc_recognizer_s_smaller_train_scales_warn_as_a_students_scales_do(tmp_path):
    init_default_scope('dld')
    model = _ctc_recognizer(train_scales=(1.0, 0.3))
    loader = _with_pipeline(tmp_path, 'a.txt', (48, 144), 'ABC1234')
    frames = {s: f for s, (f, _) in
              recognizer_ctc_frames(model, loader, training=True).items()}
    assert sorted(frames) == [0.3, 1.0] and frames[0.3] < frames[1.0]
    assert list(recognizer_ctc_frames(model, loader)) == [1.0]  # read at its input
    label = ('AB' * 40)[:frames[0.3] + 1]
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_with_pipeline(tmp_path, 'b.txt', (48, 144), label),
            val_loop=None))
    said = log.call_args.args[0]
    assert said.startswith(f'At scale 0.3 (a 14x43 input) the recognizer reads {frames[0.3]} '
                           'frame(s): 1 of 1 training label(s) need more')
    assert 'which its scale augmentation trains at. Give model.train_scales' in said
    assert 'Give model.train_scales no scale that small' in said


def test_a_ctc_recognizer_never_trained_at_its_input_size_is_held_to_its_largest_scale(
        tmp_path):
    """With train_scales (0.8, 0.6) it never reads 1.0 in training: a label
    that fits 1.0 but not 0.8 is never learned, and stops the run."""
    import pytest

    from dld.engine.hooks.label_check_hook import LabelCheckError
    init_default_scope('dld')
    model = _ctc_recognizer(train_scales=(0.8, 0.6))
    loader = _with_pipeline(tmp_path, 'a.txt', (48, 144), 'ABC1234')
    frames = {s: f for s, (f, _) in
              recognizer_ctc_frames(model, loader, training=True).items()}
    assert sorted(frames) == [0.6, 0.8]
    at_1 = recognizer_ctc_frames(model, loader)[1.0][0]
    assert frames[0.8] < at_1
    label = ('AB' * 40)[:frames[0.8] + 1]
    with pytest.raises(LabelCheckError, match=rf'need more than the {frames[0.8]} frame\(s\) '
                                              r'the CTC recognizer reads at its 38x115 input'):
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_with_pipeline(tmp_path, 'b.txt', (48, 144), label),
            val_loop=None))


def test_a_ctc_head_of_one_s_own_is_counted_by_logits_per_frame_not_its_class(tmp_path):
    """A decoder of one's own saying ``logits_per_frame = True`` (as
    docs/customize.md asks of a CTC-like head) was no ``CTCDecoder``, and
    its too long labels trained silently (a newcomer's journey)."""
    import torch.nn as nn
    init_default_scope('dld')

    class OwnHead(nn.Module):
        logits_per_frame = True

    model = _ctc_recognizer()
    model.decoder = OwnHead()
    size = (32, 64)
    [(_, (frames, _))] = recognizer_ctc_frames(model, _with_pipeline(tmp_path, 'a.txt', size,
                                                                      'AB')).items()
    assert frames > 2
    dld = MODELS.build(tiny_dld_cfg(config='configs/dld_plate_ctc.py', teacher_ckpt=None))
    dld.student.decoder = OwnHead()
    assert sorted(ctc_frames_by_scale(dld)) == sorted(dld.scales)
    OwnHead.logits_per_frame = False  # an attention-like head: no frames to count
    assert ctc_frames_by_scale(dld) == {}
    assert recognizer_ctc_frames(model, _with_pipeline(tmp_path, 'b.txt', size, 'AB')) == {}


def test_an_auxiliary_ctc_head_s_labels_it_cannot_align_warn(tmp_path):
    """The quickstart teacher's training-only CTC head zeroed the loss of a
    label needing more frames than its encoder gives (zero_infinity), and
    nothing said so: the attention decoder's length was the only check."""
    from dld.utils import read_config
    init_default_scope('dld')
    cfg = read_config('configs/teacher_plate_hr.py').model
    cfg.update(decoder=dict(cfg.decoder, max_seq_len=60),
               aux_decoder=dict(type='CTCDecoder'))
    model = MODELS.build(cfg)
    size = (32, 64)
    frames = frames_at_scales(model, size, [1.0])[1.0][0]
    too_long = 'A' * frames  # a blank between alike: 2 * frames - 1 needed
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_with_pipeline(tmp_path, 'a.txt', size, 'AB',
                                                          too_long), val_loop=None))
    said = log.call_args.args[0]
    assert said.startswith(f'1 training label(s) need more than the {frames} frame(s) the '
                           'auxiliary CTC head (model.aux_decoder) reads at a 32x64 input')
    assert f"a.txt:2: {too_long!r} (needs {2 * frames - 1} frames)" in said
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_with_pipeline(tmp_path, 'b.txt', size, 'AB'),
            val_loop=None))
    assert not log.called
