"""A tiny DLD config whose student decodes with attention, and untrained weights.

FLOPs depend on the architecture and the input size only, so the tests of
what a reading costs need no training: ``make_attention_dld(root)`` writes
``root/attention_dld.py`` and ``root/attention_dld.pth`` (student and
selector, randomly initialised) and returns their paths.
:func:`beam_flops_by_parts` is what a beam search should cost, measured
independently of the code that counts it.
"""
import os
import os.path as osp

import torch
from flops_parts import decoding_parts
from mmengine.config import Config
from tiny_dld import dld_config, recognizer_cfg

DECODER = dict(type='AttentionDecoder', cell='gru', d_model=24, max_seq_len=5, beam_width=3)


def attention_recognizer_cfg(width: int) -> dict:
    return dict(recognizer_cfg(width), decoder=dict(DECODER))


def make_attention_dld(root: str, student_test_cfg=None, teacher_test_cfg=None,
                       data_root=None) -> dict:
    """``student_test_cfg``, ``teacher_test_cfg``: their decoding (default
    greedy); ``data_root``: the test set's (e.g. the tiny run's). Also writes
    ``attention_dld_full.pth``, with the teacher's weights."""
    from dld.registry import MODELS
    cfg = dld_config(data_root or osp.join(root, 'data'))
    cfg['model'].update(teacher=dict(attention_recognizer_cfg(16), test_cfg=teacher_test_cfg),
                        student=dict(attention_recognizer_cfg(12), test_cfg=student_test_cfg))
    os.makedirs(root, exist_ok=True)
    paths = dict(config=osp.join(root, 'attention_dld.py'),
                 checkpoint=osp.join(root, 'attention_dld.pth'),
                 full=osp.join(root, 'attention_dld_full.pth'))
    Config(cfg).dump(paths['config'])
    torch.manual_seed(0)
    model = MODELS.build(cfg['model'])
    state = model.state_dict()
    torch.save(dict(state_dict=state), paths['full'])
    state = {k: v for k, v in state.items() if not k.startswith('teacher.')}
    torch.save(dict(state_dict=state), paths['checkpoint'])
    return paths


def beam_flops_by_parts(recognizer, scale: float, width: int, base=(48, 144)) -> int:
    """A reading at ``scale`` by a beam search of ``width``, from fvcore on its
    parts: the backbone + encoder once, the attention decoder's memory
    projection once, and the rest of the greedy decoder (one sequence, every
    step) once per hypothesis."""
    encoder, decoder, prepare, _ = decoding_parts(recognizer, scale, base)
    return encoder + prepare + width * (decoder - prepare)
