"""tools/extract_student.py: what it keeps, and a summary that adds up."""

import pytest
import torch
from repo_scripts import load_script


def test_the_summary_counts_every_tensor_kept_and_dropped(tmp_path, capsys):
    state = {'teacher.w': torch.ones(1), 'teacher.b': torch.ones(1),
             'student.w': torch.ones(1), 'student.b': torch.ones(1),
             'selector.w': torch.ones(1), 'connectors.0.w': torch.ones(1),
             'teacher_loaded': torch.ones(1)}
    src, dst = tmp_path / 'dld.pth', tmp_path / 'student.pth'
    torch.save(dict(state_dict=state, meta=dict(cfg='x')), src)
    assert load_script('tools/extract_student.py').main([str(src), str(dst)]) == 0
    kept = torch.load(dst, weights_only=True)['state_dict']
    assert sorted(kept) == ['connectors.0.w', 'selector.w', 'student.b', 'student.w',
                            'teacher_loaded']
    assert (f'Wrote {dst}: 2 student, 1 selector and 2 of training (connectors, '
            'teacher_loaded) tensors kept, 2 teacher tensors dropped.') in capsys.readouterr().out


def _refused(src, dst, capsys) -> str:
    """main's exit status 2 and nothing written; returns what it said."""
    assert load_script('tools/extract_student.py').main([str(src), str(dst)]) == 2
    assert not dst.exists()
    err = capsys.readouterr().err
    assert err.startswith('extract_student.py: ') and 'Traceback' not in err
    return err


def test_a_checkpoint_without_a_state_dict_is_refused_naming_it(tmp_path, capsys):
    src, dst = tmp_path / 'weights.pth', tmp_path / 'student.pth'
    torch.save({'teacher.w': torch.ones(1), 'student.w': torch.ones(1)}, src)  # a bare state
    assert f'{src}: no `state_dict`' in _refused(src, dst, capsys)


def test_a_checkpoint_without_teacher_weights_is_refused_as_already_extracted(
        tmp_path, capsys):
    """A student.pth given again: nothing to drop, so nothing is written."""
    state = {'student.w': torch.ones(1), 'selector.w': torch.ones(1)}
    src, dst = tmp_path / 'student.pth', tmp_path / 'again.pth'
    torch.save(dict(state_dict=state), src)
    assert (f'{src}: no `teacher.*` weights: not a DLD checkpoint (or already extracted)'
            in _refused(src, dst, capsys))


def test_a_checkpoint_that_is_not_a_dict_is_refused_naming_it(tmp_path, capsys):
    src, dst = tmp_path / 'tensor.pth', tmp_path / 'student.pth'
    torch.save(torch.ones(3), src)
    assert f'{src}: no `state_dict`' in _refused(src, dst, capsys)


def test_a_missing_or_unreadable_checkpoint_is_named(tmp_path, capsys):
    dst = tmp_path / 'student.pth'
    assert 'nope.pth' in _refused(tmp_path / 'nope.pth', dst, capsys)
    (tmp_path / 'cut.pth').write_bytes(b'PK\x03\x04 not a checkpoint')
    assert 'cut.pth' in _refused(tmp_path / 'cut.pth', dst, capsys)


def test_the_training_checkpoint_itself_or_a_folder_as_out_is_refused(tmp_path, capsys):
    src = tmp_path / 'dld.pth'
    torch.save(dict(state_dict={'teacher.w': torch.ones(1), 'student.w': torch.ones(1)}), src)
    before = src.read_bytes()
    (tmp_path / 'link.pth').symlink_to(src)
    tool = load_script('tools/extract_student.py')
    for out in (src, tmp_path / 'link.pth'):
        with pytest.raises(SystemExit) as info:
            tool.main([str(src), str(out)])
        assert info.value.code == 2
        assert f'{out} is the training checkpoint itself' in capsys.readouterr().err
    assert src.read_bytes() == before  # the teacher's weights are still there
    with pytest.raises(SystemExit):
        tool.main([str(src), str(tmp_path)])
    assert f'{tmp_path} is a folder; give the file to write' in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['dld.pth', 'link.pth']


def test_from_python_the_training_checkpoint_itself_is_refused_too(tmp_path):
    """dld.apis.extract_student, the tool's function: a notebook's
    extract_student(ckpt, ckpt) wrote the student over the training
    checkpoint, its teacher and training state lost."""
    from dld.apis import extract_student
    src = tmp_path / 'dld.pth'
    torch.save(dict(state_dict={'teacher.w': torch.ones(1), 'student.w': torch.ones(1)}), src)
    before = src.read_bytes()
    with pytest.raises(ValueError, match='is the training checkpoint itself'):
        extract_student(str(src), str(src))
    assert src.read_bytes() == before
    summary = extract_student(str(src), str(tmp_path / 'student.pth'))
    assert (summary['student'], summary['dropped']) == (1, 1)


def test_an_existing_file_is_replaced_only_when_an_earlier_extraction(tmp_path, capsys):
    """OUT naming another run's training checkpoint replaced it silently: its
    teacher and training state were lost. An earlier extraction is replaced,
    and said so."""
    state = {'teacher.w': torch.ones(1), 'student.w': torch.ones(1)}
    src, dst = tmp_path / 'dld.pth', tmp_path / 'student.pth'
    torch.save(dict(state_dict=state, meta=dict(cfg='x')), src)
    other = tmp_path / 'epoch_10.pth'
    torch.save(dict(state_dict={'teacher.w': torch.zeros(1)}, optimizer={}), other)
    before = other.read_bytes()
    script = load_script('tools/extract_student.py')
    with pytest.raises(SystemExit):
        script.main([str(src), str(other)])
    assert f'{other} exists and is no student extracted by DLD' in capsys.readouterr().err
    assert other.read_bytes() == before
    (tmp_path / 'notes.txt').write_text('mine')  # not a checkpoint at all: kept too
    with pytest.raises(ValueError, match='exists and is no student extracted'):
        from dld.apis.student_extraction import extract_student
        extract_student(str(src), str(tmp_path / 'notes.txt'))
    assert (tmp_path / 'notes.txt').read_text() == 'mine'
    assert script.main([str(src), str(dst)]) == 0
    assert 'replaced' not in capsys.readouterr().out
    state['student.w'] = torch.full((1,), 2.0)
    torch.save(dict(state_dict=state, meta=dict(cfg='x')), src)
    assert script.main([str(src), str(dst)]) == 0
    assert f'Wrote {dst} (an earlier extraction replaced): 1 student' in capsys.readouterr().out
    assert torch.load(dst, weights_only=True)['state_dict']['student.w'].item() == 2.0
