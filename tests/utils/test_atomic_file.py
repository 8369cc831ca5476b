"""Result files written whole or not at all, through temporary files no one can plant."""
import os

import pytest

from dld.utils.atomic_file import (
    new_temporary,
    text_writer,
    write_files_together,
    write_text_atomic,
)


def test_a_link_planted_under_a_foreseeable_temporary_name_is_not_written_through(tmp_path):
    """The temporary file was ``{path}.tmp{pid}``, opened for writing: a link
    planted under that name in a shared folder had the write overwrite the
    file it pointed at (a security review)."""
    victim = tmp_path / 'victim.txt'
    victim.write_text('keep me')
    out = tmp_path / 'metrics.json'
    for name in (f'{out}.tmp{os.getpid()}', f'{out.parent / "r.md"}.tmp{os.getpid()}'):
        os.symlink(victim, name)
    write_text_atomic(str(out), '{"a": 1}\n')
    write_files_together(str(tmp_path), {'r.md': text_writer('# report\n')})
    assert victim.read_text() == 'keep me'
    assert out.read_text() == '{"a": 1}\n' and (tmp_path / 'r.md').read_text() == '# report\n'


def test_a_file_written_has_the_umask_s_permissions_and_no_temporary_is_left(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(str(tmp_path / 'new' / 'a.txt'), 'x')  # its folder made too
    finally:
        os.umask(old)
    assert (tmp_path / 'new' / 'a.txt').stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path / 'new') == ['a.txt']


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path):
    out = tmp_path / 'a.txt'
    out.write_text('before')

    def fails(path):
        open(path, 'w').write('half')
        raise OSError(28, 'No space left on device')
    with pytest.raises(OSError):
        write_files_together(str(tmp_path), {'b.txt': text_writer('b'), 'a.txt': fails})
    assert out.read_text() == 'before' and sorted(os.listdir(tmp_path)) == ['a.txt']


def test_temporary_names_are_new_each_time(tmp_path):
    names = set()
    for _ in range(5):
        name, fd = new_temporary(str(tmp_path / 'a.txt'))
        os.close(fd)
        names.add(name)
    assert len(names) == 5 and all(n.startswith(f"{tmp_path / 'a.txt'}.tmp") for n in names)
