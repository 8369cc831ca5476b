"""A CTC student's frames at each scale, against the training labels."""
from types import SimpleNamespace
from unittest import mock

import cv2
import numpy as np
from mmengine.registry import init_default_scope

from dld.datasets import PairedPlateDataset
from dld.engine.hooks import LabelLengthCheckHook
from dld.models.distillers.ctc_frames import ctc_frames_by_scale, ctc_length
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
        f'more (e.g. {longer!r} needs {need})' in said[-1]
    with mock.patch('dld.engine.hooks.label_length_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(SimpleNamespace(
            model=model, train_dataloader=_labels(tmp_path, 'b.txt', 'AB'), val_loop=None))
    assert not log.called
    # an attention student: nothing to count
    attention = MODELS.build(tiny_dld_cfg(teacher_ckpt=None))
    assert ctc_frames_by_scale(attention) == {}
