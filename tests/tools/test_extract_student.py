"""tools/extract_student.py: what it keeps, and a summary that adds up."""
import re

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


def test_a_checkpoint_without_a_state_dict_is_refused_naming_it(tmp_path):
    src, dst = tmp_path / 'weights.pth', tmp_path / 'student.pth'
    torch.save({'teacher.w': torch.ones(1), 'student.w': torch.ones(1)}, src)  # a bare state
    with pytest.raises(ValueError, match=f'{re.escape(str(src))}: no `state_dict`'):
        load_script('tools/extract_student.py').main([str(src), str(dst)])
    assert not dst.exists()


def test_a_checkpoint_without_teacher_weights_is_refused_as_already_extracted(tmp_path):
    """A student.pth given again: nothing to drop, so nothing is written."""
    state = {'student.w': torch.ones(1), 'selector.w': torch.ones(1)}
    src, dst = tmp_path / 'student.pth', tmp_path / 'again.pth'
    torch.save(dict(state_dict=state), src)
    with pytest.raises(ValueError, match=re.escape(
            f'{src}: no `teacher.*` weights: not a DLD checkpoint (or already extracted)')):
        load_script('tools/extract_student.py').main([str(src), str(dst)])
    assert not dst.exists()


def test_a_checkpoint_that_is_not_a_dict_is_refused_naming_it(tmp_path):
    src, dst = tmp_path / 'tensor.pth', tmp_path / 'student.pth'
    torch.save(torch.ones(3), src)
    with pytest.raises(ValueError, match=f'{re.escape(str(src))}: no `state_dict`'):
        load_script('tools/extract_student.py').main([str(src), str(dst)])
