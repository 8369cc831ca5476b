"""A teacher named by its work dir resolves to that run's best checkpoint."""
import os

import pytest

from dld.models.distillers.teacher_checkpoint import resolve_teacher_checkpoint


def test_a_work_dir_resolves_to_its_best_link_or_single_best_or_last(tmp_path):
    (tmp_path / 'epoch_3.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_3.pth')
    (tmp_path / 'best_acc_epoch_2.pth').write_bytes(b'')
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'best_acc_epoch_2.pth')
    os.symlink('best_acc_epoch_2.pth', tmp_path / 'best.pth')
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'best.pth')
    (tmp_path / 'best_acc_epoch_1.pth').write_bytes(b'')
    assert resolve_teacher_checkpoint(str(tmp_path)) == str(tmp_path / 'best.pth')
    os.remove(tmp_path / 'best.pth')
    with pytest.raises(FileNotFoundError, match='several best'):
        resolve_teacher_checkpoint(str(tmp_path))


def test_a_best_link_to_a_missing_file_is_an_error_not_the_last_checkpoint(tmp_path):
    (tmp_path / 'epoch_3.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    os.symlink('best_acc_epoch_2.pth', tmp_path / 'best.pth')
    with pytest.raises(FileNotFoundError, match='best_acc_epoch_2.pth, which is missing'):
        resolve_teacher_checkpoint(str(tmp_path))
