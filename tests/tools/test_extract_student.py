"""tools/extract_student.py: what it keeps, and a summary that adds up."""
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
