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


def test_a_named_pipe_is_written_into_not_replaced(tmp_path):
    """``--out pipe.json`` (a named pipe, ``>(jq .)``, ``/dev/stdout``): the
    text goes to its reader, and the pipe stays a pipe. A temporary renamed
    onto it replaced it with a plain file (as root, ``/dev/stdout`` itself,
    for every later process), the reader waiting for ever."""
    import stat
    import threading

    from dld.utils.atomic_file import write_json_atomic
    pipe = str(tmp_path / 'pipe.json')
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(pipe).read()), daemon=True)
    reader.start()
    write_json_atomic(pipe, {'a': 1})
    reader.join(timeout=10)
    assert got == ['{"a": 1}\n']
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    from dld.utils.atomic_file import is_stream
    assert is_stream(pipe) and is_stream('/dev/stdout') and is_stream('/dev/null')


def test_a_link_to_the_standard_output_is_written_into_not_replaced(tmp_path):
    from dld.utils.atomic_file import is_stream, write_text_atomic
    link = tmp_path / 'out.json'
    link.symlink_to('/dev/null')
    assert is_stream(str(link))
    write_text_atomic(str(link), 'x\n')
    assert link.is_symlink() and os.readlink(link) == '/dev/null'


def test_a_plain_file_or_a_link_to_one_is_no_stream(tmp_path):
    from dld.utils.atomic_file import is_stream
    (tmp_path / 'a.json').write_text('{}')
    (tmp_path / 'b.json').symlink_to(tmp_path / 'a.json')
    assert not any(is_stream(str(tmp_path / n)) for n in ('a.json', 'b.json', 'new.json'))
    assert not is_stream(str(tmp_path))


def test_a_stream_is_an_output_that_can_be_written():
    from dld.utils.output_paths import unwritable_outputs
    assert unwritable_outputs(files=[('--out', '/dev/stdout', '.json')]) == []
    assert unwritable_outputs(files=[('--json', '/dev/null', '.json')], create=False) == []


def test_the_standard_output_redirected_to_a_file_is_written_into(tmp_path):
    """``tool --out /dev/stdout > out.txt``: the name leads to a plain file,
    written into (appended after what was printed), not replaced."""
    import subprocess
    import sys
    out = tmp_path / 'out.txt'
    code = ('print("before", flush=True)\n'
            'from dld.utils.atomic_file import is_stream, write_text_atomic\n'
            'assert is_stream("/dev/stdout")\n'
            'write_text_atomic("/dev/stdout", "records\\n")\n')
    with open(out, 'w') as f:
        subprocess.run([sys.executable, '-c', code], stdout=f, check=True)
    assert out.read_text() == 'before\nrecords\n'


def test_a_plain_file_under_dev_shm_is_a_file_replaced_whole():
    import tempfile
    if not os.path.isdir('/dev/shm'):
        pytest.skip('no /dev/shm here')
    from dld.utils.atomic_file import is_stream, write_text_atomic
    with tempfile.TemporaryDirectory(dir='/dev/shm') as folder:
        path = os.path.join(folder, 'm.json')
        write_text_atomic(path, 'first\n')
        assert not is_stream(path)
        write_text_atomic(path, 'second\n')
        assert open(path).read() == 'second\n'


@pytest.mark.parametrize('name', ['/dev/stdout', '/proc/self/fd/1', 'link'])
def test_the_standard_output_redirected_to_a_file_keeps_what_is_printed_after(tmp_path, name):
    """``test.py --out /dev/stdout > out.txt``: the log line printed after the
    metrics ('Metrics written to /dev/stdout') was written over the start of
    the JSON (the name opened anew had a file position of its own), and so
    was what was still buffered."""
    import subprocess
    import sys
    if not os.path.exists('/proc/self/fd/1'):
        pytest.skip('no /proc here')
    if name == 'link':
        name = str(tmp_path / 'out.json')
        os.symlink('/dev/stdout', name)
    out = tmp_path / 'out.txt'
    code = ('import sys\n'
            'print("before")\n'  # buffered: stdout is a file
            'from dld.utils.atomic_file import write_json_atomic\n'
            f'write_json_atomic({name!r}, {{"accuracy": 0.5}})\n'
            'print("after, a longer line than the JSON")\n')
    with open(out, 'w') as f:
        subprocess.run([sys.executable, '-c', code], stdout=f, check=True)
    assert out.read_text() == 'before\n{"accuracy": 0.5}\nafter, a longer line than the JSON\n'
