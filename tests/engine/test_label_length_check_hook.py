"""LabelLengthCheckHook: training labels longer than the decoders emit stop
the run before its first step, naming their annotation lines."""
import logging
from types import SimpleNamespace
from unittest import mock

import cv2
import numpy as np
import pytest
import torch.nn as nn
from mmengine.dataset import ConcatDataset

from dld.datasets import PairedPlateDataset
from dld.engine.hooks import LabelLengthCheckHook
from dld.models.decoders import AttentionDecoder, CTCDecoder


def _plates(root, *labels, name='labels.txt'):
    """One 1-frame track per label, images written; returns the label file."""
    lines = []
    for i, text in enumerate(labels):
        for kind in ('lr', 'hr'):
            assert cv2.imwrite(str(root / f'{name}-{kind}{i}.png'), np.zeros((8, 24, 3), np.uint8))
        lines.append(f'{name}-lr{i}.png|{name}-hr{i}.png\t{text}')
    (root / name).write_text('\n'.join(lines) + '\n')
    return name


def _set(root, name, test_mode=False):
    return PairedPlateDataset(data_root=str(root), ann_file=name, test_mode=test_mode,
                              frames='all')


def _runner(model, train_set, val_set=None):
    val_loop = None if val_set is None else object()
    return SimpleNamespace(model=model, train_dataloader=SimpleNamespace(dataset=train_set),
                           val_loop=val_loop, val_dataloader=SimpleNamespace(dataset=val_set))


def _distiller_like(student_len=9, teacher_len=8):
    return nn.ModuleDict(dict(student=AttentionDecoder(in_channels=16, cell='gru', d_model=16,
                                                       max_seq_len=student_len),
                              teacher=AttentionDecoder(in_channels=16, cell='gru', d_model=16,
                                                       max_seq_len=teacher_len)))


def test_a_training_label_longer_than_any_decoder_emits_stops_the_run(tmp_path):
    good = _set(tmp_path, _plates(tmp_path, 'ABC1234', name='a.txt'))
    bad = _set(tmp_path, _plates(tmp_path, 'ABC1234', 'ABCD12345', name='b.txt'))
    # the teacher (max_seq_len 8) is the limit: 7 characters, though the student emits 8
    # (named: it was "the decoder")
    with pytest.raises(ValueError, match=r"1 training label.*more than 7 characters, the most "
                                         r"model\.teacher emits \(its max_seq_len - 1\).*\n"
                                         r".*b\.txt:2: 'ABCD12345' \(9 characters\)"):
        LabelLengthCheckHook().before_train(_runner(_distiller_like(),
                                                    ConcatDataset([good, bad])))


def test_labels_within_the_limit_pass(tmp_path):
    ok = _set(tmp_path, _plates(tmp_path, 'ABC1234', 'ABCD1234'))
    hook = LabelLengthCheckHook()
    # the 8-character label is the longest a decoder of max_seq_len 9 emits
    assert hook.model_limits(_distiller_like(9, 9)) == 8
    assert hook.find(_runner(_distiller_like(9, 9), ok).train_dataloader, 8) == []
    hook.before_train(_runner(_distiller_like(9, 9), ok))


def test_long_labels_are_listed_in_line_order(tmp_path):
    """They were sorted as text: lines 1, 10, 12, 2 ..."""
    labels = _set(tmp_path, _plates(tmp_path, *['ABCDEFGHI'] * 12))
    found = LabelLengthCheckHook().find(SimpleNamespace(dataset=labels), 8)
    assert [where.rsplit(':', 1)[1] for where, _ in found] == [str(i) for i in range(1, 13)]


def test_a_validation_label_over_the_limit_only_warns(tmp_path):
    train = _set(tmp_path, _plates(tmp_path, 'ABC1234', name='train.txt'))
    val = _set(tmp_path, _plates(tmp_path, 'ABCD12345', name='val.txt'), test_mode=True)
    with mock.patch('dld.engine.hooks.label_check_hook.print_log') as log:
        LabelLengthCheckHook().before_train(_runner(_distiller_like(), train, val))
    (message, ), kwargs = log.call_args
    assert "val.txt:1: 'ABCD12345'" in message and 'never be read whole' in message
    assert kwargs['level'] == logging.WARNING


def test_a_test_label_over_the_limit_warns_before_the_test(tmp_path):
    """tools/test.py said nothing of labels the model can never read whole."""
    test = _set(tmp_path, _plates(tmp_path, 'ABCD12345', name='test.txt'), test_mode=True)
    runner = SimpleNamespace(model=_distiller_like(), test_dataloader=SimpleNamespace(
        dataset=test))
    with mock.patch('dld.engine.hooks.label_check_hook.print_log') as log:
        LabelLengthCheckHook().before_test(runner)
    (message, ), _ = log.call_args
    assert message.startswith('1 test label(s) have more than 7 characters')
    assert "test.txt:1: 'ABCD12345'" in message
    with mock.patch('dld.engine.hooks.label_check_hook.print_log') as log:
        LabelLengthCheckHook(check_val=False).before_test(runner)
    assert not log.called


def test_a_ctc_model_has_no_limit_to_check(tmp_path):
    long = _set(tmp_path, _plates(tmp_path, 'ABCDEFGHIJKLMNOP'))
    assert LabelLengthCheckHook().model_limits(CTCDecoder(in_channels=16)) is None
    LabelLengthCheckHook().before_train(_runner(CTCDecoder(in_channels=16), long))


def test_the_configs_run_it():
    from mmengine.config import Config
    cfg = Config.fromfile('configs/dld_plate.py')
    assert cfg.default_hooks.label_length['type'] == 'LabelLengthCheckHook'



def test_a_layout_rendered_when_read_longer_than_the_decoder_emits_stops_the_run():
    """Sets rendered when read were not checked: an 11-character layout (a
    container code) trained a decoder of max_seq_len 8 on labels cut to 7."""
    from dld.datasets import OnlineSynthPlateDataset
    from dld.engine.hooks.label_length_check_hook import layout_labels
    online = OnlineSynthPlateDataset(num_plates=2, layouts=('LLLL-NNNNNNN', 'mercosur'),
                                     with_lr=False, pipeline=[])
    assert [text for _, text in layout_labels(online)] == ['ABAB0101010', 'ABA0A01']
    with pytest.raises(ValueError, match=r"1 training label.*more than 7 characters.*\n"
                                         r"  OnlineSynthPlateDataset layout 'LLLL-NNNNNNN': "
                                         r"'ABAB0101010' \(11 characters\)"):
        LabelLengthCheckHook().before_train(_runner(_distiller_like(8, 8), online))
    LabelLengthCheckHook().before_train(_runner(_distiller_like(12, 12), online))


def test_a_layout_s_label_avoids_the_printed_character_after_a_slot():
    """'LLL-N0NN' was held to 'ABA0010' (8 CTC frames) where 9 labels in 10
    need 7: the slot before a printed '0' took '0'."""
    from dld.datasets import OnlineSynthPlateDataset
    from dld.engine.hooks.label_length_check_hook import layout_labels
    from dld.models.distillers.ctc_frames import ctc_length
    online = OnlineSynthPlateDataset(num_plates=2, layouts=('LLL-N0NN', ), with_lr=False,
                                     pipeline=[])
    [(_, text)] = layout_labels(online)
    assert ctc_length(text) == len(text) == 7
