"""A teacher of one's own: what DLD says of a checkpoint that is not a
teacher, and of two dictionaries that differ (a user's journey)."""
import pytest
import torch
from log_records import current_log_records

from dld.engine.checkpoint import CheckpointFitError
from dld.registry import MODELS

from .conftest import tiny_dld_cfg


def test_an_extracted_student_as_teacher_ckpt_says_so(teacher_ckpt, tmp_path):
    """It was "a teacher of other layers" (95 weights missing, 122 unknown)."""
    state = torch.load(teacher_ckpt(), weights_only=True)['state_dict']
    extracted = {f'student.{k}': v for k, v in state.items()}
    extracted['teacher_loaded'] = torch.tensor(True)
    torch.save(dict(state_dict=extracted, meta={}), tmp_path / 'student.pth')
    with pytest.raises(ValueError, match=r"student\.pth is a DLD checkpoint without a teacher "
                                         r".*teacher_from='student'"):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=str(tmp_path / 'student.pth')))


@pytest.mark.parametrize('teacher_chars, said', [
    ('ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210',
     "the teacher holds 'Z', the student holds '0'; the same characters in another order"),
    ('0123456789ABCDEFGHIJKLMNOPQRSTUVWXY',
     "the teacher's ends there, the student holds 'Z'; only the student's: 'Z'"),
    ('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-',
     "the teacher holds '-', the student's ends there; only the teacher's: '-'"),
])
def test_dictionaries_that_differ_are_named_by_their_characters(teacher_chars, said):
    cfg = tiny_dld_cfg(teacher_ckpt=None)
    cfg['teacher']['decoder']['dictionary'] = dict(
        cfg['teacher']['decoder']['dictionary'], chars=list(teacher_chars))
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg)
    assert said in str(err.value)


def _teacher_trained_at(teacher_ckpt, size, tmp_path) -> str:
    ckpt = torch.load(teacher_ckpt(), weights_only=True)
    ckpt['meta'] = dict(input_size=list(size))
    path = str(tmp_path / f'teacher_{size[0]}x{size[1]}.pth')
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize('overrides, reads', [
    (dict(), '48x144'), (dict(teacher_scale=0.5), '24x72')])
def test_a_teacher_trained_at_another_size_is_warned_of_naming_both(teacher_ckpt, tmp_path,
                                                                    overrides, reads):
    path = _teacher_trained_at(teacher_ckpt, (32, 96), tmp_path)
    with current_log_records() as records:
        MODELS.build(tiny_dld_cfg(teacher_ckpt=path, **overrides))
    said = [r.getMessage() for r in records if 'was trained on inputs' in r.getMessage()]
    assert len(said) == 1
    assert f'the teacher was trained on inputs of 32x96, here it reads {reads}' in said[0]
    assert path in said[0] and 'ResizePair hr_size' in said[0]


def test_a_teacher_trained_at_the_size_it_reads_is_not_warned_of(teacher_ckpt, tmp_path):
    path = _teacher_trained_at(teacher_ckpt, (48, 144), tmp_path)
    with current_log_records() as records:
        MODELS.build(tiny_dld_cfg(teacher_ckpt=path))
    assert not [r for r in records if 'was trained on inputs' in r.getMessage()]


def test_weights_saved_under_another_key_are_named_with_how_to_save_them(teacher_ckpt,
                                                                         tmp_path):
    """``torch.save({'model': sd})`` was "a teacher of other layers (e.g. model)"."""
    state = torch.load(teacher_ckpt(), weights_only=True)['state_dict']
    torch.save(dict(model=state), tmp_path / 'other_tool.pth')
    with pytest.raises(CheckpointFitError, match=r"its weights are all under the key 'model'.*"
                                         r"torch\.save\(dict\(state_dict=ckpt\['model'\]\)"):
        MODELS.build(tiny_dld_cfg(teacher_ckpt=str(tmp_path / 'other_tool.pth')))


def _lr_teacher_cfg(path, **overrides):
    """configs/dld_plate_student_online_lrteacher.py's teacher (per-scale
    BatchNorm, the LR frame at 0.8x), given a plain recognizer checkpoint."""
    cfg = tiny_dld_cfg('configs/dld_plate_student_online_lrteacher.py', teacher_ckpt=path,
                       teacher_from='teacher', **overrides)
    return cfg


def _lr_student_trained_at(tmp_path, size) -> str:
    """A plain LR recognizer trained with train_scales (configs/student_plate_lr.py,
    the no-KD baseline): its batches came at base size, it resized them itself."""
    from mmengine.config import Config

    from .conftest import shrink_recognizer
    cfg = shrink_recognizer(Config.fromfile('configs/student_plate_lr.py').model.to_dict())
    state = MODELS.build(cfg).state_dict()
    path = str(tmp_path / f'lr_student_{size[0]}x{size[1]}.pth')
    torch.save(dict(state_dict=state, meta=dict(input_size=list(size))), path)
    return path


def test_an_lr_teacher_read_at_a_scale_it_trained_at_is_not_warned_of(tmp_path):
    """It was: 'the teacher was trained on inputs of 48x144, here it reads
    38x115' (0.8x, a scale it trained at), advising the HR size."""
    path = _lr_student_trained_at(tmp_path, (48, 144))
    with current_log_records() as records:
        MODELS.build(_lr_teacher_cfg(path))
    assert not [r for r in records if 'was trained on inputs' in r.getMessage()]


def test_an_lr_teacher_of_another_size_is_told_of_the_lr_size(tmp_path):
    path = _lr_student_trained_at(tmp_path, (32, 96))
    with current_log_records() as records:
        MODELS.build(_lr_teacher_cfg(path))
    said = [r.getMessage() for r in records if 'was trained on inputs' in r.getMessage()]
    assert len(said) == 1
    assert 'trained on inputs of 32x96, here it reads 38x115' in said[0]
    assert 'ResizePair lr_size' in said[0] and 'hr_size' not in said[0]


def test_an_older_teacher_checkpoint_of_another_character_order_is_warned_of(teacher_ckpt,
                                                                             tmp_path):
    """Saved before DLD recorded its decoders' characters: its training set's
    say it (the same count, so every weight fits); it was loaded silently."""
    ckpt = torch.load(teacher_ckpt(), weights_only=True)
    chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    for held, warned in ((chars[::-1], True), (chars, False)):
        ckpt['meta'] = dict(dataset_meta=dict(chars=held))
        path = str(tmp_path / f'older_{warned}.pth')
        torch.save(ckpt, path)
        with current_log_records() as records:
            MODELS.build(tiny_dld_cfg(teacher_ckpt=path))
        said = [r.getMessage() for r in records
                if 'records no decoder characters' in r.getMessage()]
        assert len(said) == int(warned)
        if warned:
            assert said[0].startswith(f'{path} records no decoder characters')
