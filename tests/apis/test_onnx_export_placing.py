"""tools/deployment/export_onnx.py: putting a checked export in place, and
the table it prints (no export is made here: fast)."""
import errno
import json
import os
import os.path as osp

from repo_scripts import load_script

from dld.deploy.onnx_reader import MANIFEST


def _fake_export(folder, files, scales=(1.0, )):
    os.makedirs(folder, exist_ok=True)
    for name in files:
        with open(osp.join(folder, name), 'wb') as f:
            f.write(name.encode())
    manifest = dict(format='dld-onnx', version=1, scales=[
        dict(scale=s, file=f, gflops=0.01) for s, f in zip(scales, files)])
    with open(osp.join(folder, MANIFEST), 'w') as f:
        json.dump(manifest, f)


def test_an_out_dir_that_is_a_mount_point_gets_the_export_moved_into_it(tmp_path,
                                                                          monkeypatch):
    """``docker run -v host:/out ... --out-dir /out``: the folder cannot be
    renamed (EBUSY), which was a traceback after the whole export, and the
    checked export was deleted with its staging folder."""
    tool = load_script('tools/deployment/export_onnx.py')
    out, staging = str(tmp_path / 'out'), str(tmp_path / '.out.partial')
    _fake_export(out, ['student_1.onnx', 'student_0.5.onnx'], (1.0, 0.5))
    _fake_export(staging, ['student_1.onnx', 'student_0.6.onnx'], (1.0, 0.6))
    rename = os.rename

    def busy(src, dst):  # what the kernel says of a mount point
        if osp.abspath(src) == osp.abspath(out):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), src, dst)
        return rename(src, dst)

    monkeypatch.setattr(tool.os, 'rename', busy)
    monkeypatch.setattr(tool.osp, 'ismount', lambda p: osp.abspath(p) == osp.abspath(out))
    tool._move_into_place(staging, out)
    assert sorted(os.listdir(out)) == [MANIFEST, 'student_0.6.onnx', 'student_1.onnx']
    with open(osp.join(out, MANIFEST)) as f:
        assert [s['file'] for s in json.load(f)['scales']] == ['student_1.onnx',
                                                                'student_0.6.onnx']
    assert (tmp_path / 'out' / 'student_0.6.onnx').read_bytes() == b'student_0.6.onnx'


def test_the_summary_table_prints_its_numbers_as_formatted(tmp_path, capsys):
    """tabulate parsed the formatted strings again: 0.70 MB was printed 0.7,
    0.0020 GFLOPs 0.002 beside 0.0028, a small selector's 0.00006 as 6e-05
    (tools/analysis/get_flops.py prints its table with disable_numparse)."""
    tool = load_script('tools/deployment/export_onnx.py')
    for name, size in (('student_1.onnx', 690_000), ('student_0.4.onnx', 700_000),
                       ('selector.onnx', 20_000)):
        (tmp_path / name).write_bytes(b'\0' * size)
    manifest = dict(
        teacher_gflops=0.0103, reread=None, fixed_scale=None,
        scales=[dict(scale=1.0, file='student_1.onnx', gflops=0.0103),
                dict(scale=0.4, file='student_0.4.onnx', gflops=0.00201)],
        selector=dict(file='selector.onnx', gflops=0.00006),
        input=dict(size=[48, 144], keep_ratio=True, frame='lr'), decoder=dict(kind='ctc'))
    tool._print_summary(manifest, str(tmp_path))
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert rows['1'][2:] == ['0.0103', '0.0', '0.69']
    assert rows['0.4'][2:] == ['0.0020', '80.5', '0.70']
    assert rows['selector'][2:] == ['0.00006', '0.02']


def test_a_mount_point_keeps_no_copy_a_killed_export_left(tmp_path, monkeypatch):
    """An export killed outright while it copied into a mount point (kill -9,
    out of memory, ``docker stop`` past its grace) left ``.FILE.PID.new``
    there: the next ``--force`` export was refused ('holds files that are not
    of its export'), the hidden copies to be found and removed by hand."""
    tool = load_script('tools/deployment/export_onnx.py')
    out, staging = str(tmp_path / 'out'), str(tmp_path / '.out.partial')
    _fake_export(out, ['student_1.onnx'])
    (tmp_path / 'out' / '.student_1.onnx.4242.new').write_bytes(b'half a graph')
    monkeypatch.setattr(tool.osp, 'ismount', lambda p: osp.abspath(p) == osp.abspath(out))
    assert tool._out_dir_problem(out, force=True) == ''
    _fake_export(staging, ['student_1.onnx'])
    tool._move_into_place(staging, out)
    assert sorted(os.listdir(out)) == [MANIFEST, 'student_1.onnx']
