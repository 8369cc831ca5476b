"""LabelCharsCheckHook: training labels a decoder cannot spell as written stop
the run before its first step, naming their annotation lines."""
import logging
from unittest import mock

import pytest
import torch.nn as nn
from test_label_length_check_hook import _plates, _runner

from dld.datasets import OnlineSynthPlateDataset, PairedPlateDataset
from dld.engine.hooks import LabelCharsCheckHook
from dld.models.decoders import AttentionDecoder, CTCDecoder

WORDS = dict(type='Dictionary', chars='abcdefghijklmnopqrstuvwxyz-', case_sensitive=True)


def _decoders(student_dict=None, teacher_dict=None, aux_dict=None):
    def decoder(dictionary):
        extra = {} if dictionary is None else dict(dictionary=dictionary)
        return AttentionDecoder(in_channels=16, cell='gru', d_model=16, max_seq_len=16, **extra)
    aux = {} if aux_dict is None else dict(dictionary=dict(aux_dict, with_blank=True))
    return nn.ModuleDict(dict(student=decoder(student_dict), teacher=decoder(teacher_dict),
                              aux=CTCDecoder(in_channels=16, **aux)))


def _words(root, *labels, name='words.txt', test_mode=False):
    return PairedPlateDataset(data_root=str(root), ann_file=_plates(root, *labels, name=name),
                              test_mode=test_mode, frames='all', dictionary=WORDS)


def test_a_label_with_a_character_a_decoder_lacks_stops_the_run(tmp_path):
    words = _words(tmp_path, 'ocean', 'fores-t', 'ocean')
    with pytest.raises(ValueError, match=r"3 training label.*\n.*words\.txt:1: 'ocean': "
                                         r'student upper-cases it.*\n'
                                         r".*words\.txt:2: 'fores-t': student lacks '-'.*\n"
                                         r".*words\.txt:3: 'ocean'"):
        LabelCharsCheckHook().before_train(_runner(_decoders(), words))


def test_a_recognizers_dictionary_is_named_by_its_decoder():
    from mmengine.config import Config

    from dld.engine.hooks.label_chars_check_hook import decoder_dictionaries
    from dld.registry import MODELS
    recognizer = MODELS.build(Config.fromfile('configs/_base_/models/recognizer_attn.py').model)
    assert list(decoder_dictionaries(nn.ModuleDict(dict(teacher=recognizer)))) == \
        ['teacher.decoder']


def test_a_lower_case_label_a_decoder_would_upper_case_stops_the_run(tmp_path):
    words = _words(tmp_path, 'ocean')
    # the student spells it, the teacher (plate default) would read OCEAN
    with pytest.raises(ValueError, match=r"words\.txt:1: 'ocean': teacher upper-cases it"):
        LabelCharsCheckHook().before_train(_runner(_decoders(student_dict=WORDS), words))


def test_decoders_with_the_sets_dictionary_pass(tmp_path):
    words = _words(tmp_path, 'ocean', 'fores-t')
    LabelCharsCheckHook().before_train(_runner(_decoders(WORDS, WORDS, WORDS), words))
    # a training-only head is a decoder too
    with pytest.raises(ValueError, match="'ocean': aux upper-cases it"):
        LabelCharsCheckHook().before_train(_runner(_decoders(WORDS, WORDS), words))
    plates = PairedPlateDataset(data_root=str(tmp_path), ann_file=_plates(tmp_path, 'abc1234'),
                                frames='all')  # upper-cased by its own dictionary
    LabelCharsCheckHook().before_train(_runner(_decoders(), plates))


def test_a_validation_label_only_warns(tmp_path):
    train = _words(tmp_path, 'ocean', name='train.txt')
    val = _words(tmp_path, 'river-bank', name='val.txt', test_mode=True)
    with mock.patch('dld.engine.hooks.label_check_hook.print_log') as log:
        LabelCharsCheckHook().before_train(_runner(_decoders(WORDS, dict(
            WORDS, chars='abcdefghijklmnopqrstuvwxyz'), WORDS), train, val))
    (message, ), kwargs = log.call_args
    assert "val.txt:1: 'river-bank': teacher lacks '-'" in message
    assert kwargs['level'] == logging.WARNING


def test_a_set_rendered_when_read_is_checked_by_its_layouts(tmp_path):
    online = OnlineSynthPlateDataset(num_plates=4, layouts=['brazilian'], pipeline=[])
    letters_only = dict(type='Dictionary', chars='ABCDEFGHIJKLMNOPQRSTUVWXYZ')
    with pytest.raises(ValueError, match=r"layout 'brazilian'.*student lacks '0123456789'"):
        LabelCharsCheckHook().before_train(_runner(_decoders(letters_only, None), online))


def test_the_configs_run_it():
    from mmengine.config import Config
    cfg = Config.fromfile('configs/dld_plate.py')
    assert cfg.default_hooks.label_chars['type'] == 'LabelCharsCheckHook'


def test_lines_are_listed_in_line_order():
    from dld.engine.hooks.label_check_hook import line_order
    wheres = ['w.txt:10', 'w.txt:2', 'w.txt:101', 'v.txt:3', 'a/track_7']
    assert sorted(wheres, key=line_order) == ['a/track_7', 'v.txt:3', 'w.txt:2', 'w.txt:10',
                                               'w.txt:101']
