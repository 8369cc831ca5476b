"""tools/flops_accuracy.py writes the five report files."""
import json
import os.path as osp
import sys

import pytest
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from tiny_dld import make_tiny_run  # noqa: E402


@pytest.fixture
def tool_and_run(tmp_path_factory):
    """The CLI module and a tiny trained DLD run to report on."""
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    return load_script('tools/flops_accuracy.py'), run


@pytest.mark.slow
def test_cli_writes_report_files(tool_and_run, tmp_path):
    tool, run = tool_and_run
    out = tmp_path / 'report'
    rc = tool.main([run['config'], run['full'], '--baseline-ckpt', run['baseline'],
                    '--out', str(out), '--device', 'cpu', '--scales', '1.0', '0.4'])
    assert rc == 0
    for name in ('report.md', 'report.csv', 'report.json', 'pareto.png', 'scales.png'):
        assert (out / name).is_file()
    rep = json.loads((out / 'report.json').read_text())
    methods = {r['method'] for r in rep['methods']}
    # the full DLD checkpoint carries its teacher; the baseline reuses the student's architecture
    assert {'teacher_hr', 'teacher_lr', 'nokd@1', 'nokd@0.4', 'dld@1', 'dld@0.4',
            'dld_selector', 'oracle', 'oracle_matched'} == methods


@pytest.mark.slow
def test_cli_applies_cfg_options(tool_and_run, tmp_path):
    tool, run = tool_and_run
    out = tmp_path / 'report'
    assert tool.main([run['config'], run['full'], '--out', str(out), '--device', 'cpu',
                      '--scales', '1.0', '--max-batches', '1',
                      '--cfg-options', 'test_dataloader.batch_size=3']) == 0
    rep = json.loads((out / 'report.json').read_text())
    assert rep['num_images'] == 3
    # recorded, so that the report can be made again
    assert rep['inputs']['config'] == run['config']
    assert rep['inputs']['cfg_options'] == {'test_dataloader.batch_size': 3}
    assert rep['inputs']['max_batches'] == 1
    assert rep['inputs']['test_ann_file'] and rep['inputs']['test_data_root']
    markdown = (out / 'report.md').read_text()
    assert 'Config overrides (`--cfg-options`): `test_dataloader.batch_size=3`' in markdown
    assert 'only the first 1 test batch(es) read (3 images' in markdown


@pytest.mark.parametrize('value', ['0', '-1'])
def test_max_batches_below_one_is_an_argument_error(load_tool, capsys, value):
    tool = load_tool('flops_accuracy')
    args = ['dld.py', 'dld.pth', '--max-batches', value, '--out', 'report']
    with pytest.raises(SystemExit) as info:
        tool.parse_args(args)
    assert info.value.code == 2
    assert f'--max-batches must be at least 1, got {value}' in capsys.readouterr().err


@pytest.mark.parametrize('value', ['0', '-0.5', '5'])
def test_a_scale_outside_0_to_4_is_an_argument_error(load_tool, capsys, value):
    tool = load_tool('flops_accuracy')
    with pytest.raises(SystemExit) as info:
        tool.parse_args(['dld.py', 'dld.pth', '--scales', '1.0', value, '--out', 'report'])
    assert info.value.code == 2
    assert f'--scales must be in (0, 4], got {value}' in capsys.readouterr().err


def test_an_out_that_is_a_file_is_refused_before_anything_is_read(load_tool, capsys,
                                                                    tmp_path):
    """It was found only when the report was written, the run lost."""
    tool = load_tool('flops_accuracy')
    taken = tmp_path / 'report'
    taken.write_text('not a folder\n')
    with pytest.raises(SystemExit) as info:
        tool.parse_args(['dld.py', 'dld.pth', '--out', str(taken)])
    assert info.value.code == 2
    assert f'--out {taken} is a file; give a folder' in capsys.readouterr().err
    assert taken.read_text() == 'not a folder\n'


def test_an_out_that_cannot_be_made_is_refused_before_anything_is_read(load_tool, capsys,
                                                                        tmp_path):
    """A read-only place was found only when the report was written."""
    import os
    tool = load_tool('flops_accuracy')
    (tmp_path / 'file').write_text('')
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for out, says in ((tmp_path / 'file' / 'r', f"{tmp_path / 'file'} is a file"),
                          (locked / 'new' / 'r', f'{locked} is not writable')):
            if 'not writable' in says and os.access(locked, os.W_OK):
                continue  # root writes anywhere
            with pytest.raises(SystemExit) as info:
                tool.parse_args(['dld.py', 'dld.pth', '--out', str(out)])
            assert info.value.code == 2 and says in capsys.readouterr().err
    finally:
        locked.chmod(0o700)
    tool.parse_args(['dld.py', 'dld.pth', '--out', str(tmp_path / 'a' / 'b')])
    assert not (tmp_path / 'a').exists()  # made once the report is, not before


def test_a_report_that_cannot_be_written_leaves_its_table_on_stdout(tool_and_run, tmp_path,
                                                                    capsys, monkeypatch):
    """A full disk lost the whole evaluation: the table was printed after
    the files, and the error was a traceback."""
    import errno

    from dld.apis import report_writing
    tool, run = tool_and_run

    def disk_full(report, out_dir):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(report_writing, 'write_report', disk_full)
    assert tool.main([run['config'], run['student'], '--out', str(tmp_path / 'r'),
                      '--device', 'cpu', '--scales', '1.0', '--max-batches', '1']) == 2
    out, err = capsys.readouterr()
    assert '| method' in out and 'plate acc. (%)' in out  # the figures are not lost
    assert f"cannot write the report into {tmp_path / 'r'}: No space left on device; the " \
        'table above holds its figures' in err and 'Traceback' not in err


@pytest.mark.slow
def test_a_teacher_checkpoint_of_another_model_is_one_line(tool_and_run, tmp_path, capsys):
    tool, run = tool_and_run
    rc = tool.main([run['config'], run['student'], '--teacher-ckpt', run['student'],
                    '--out', str(tmp_path / 'report'), '--device', 'cpu', '--scales', '1.0'])
    assert rc == 2
    err = capsys.readouterr().err
    assert (f"flops_accuracy.py: cannot load the models: {run['student']} does not hold the "
            "config's teacher") in err
    assert 'Traceback' not in err


def test_notes_and_untrained_scales_are_said_and_ctrl_c_is_one_line(tool_and_run, tmp_path,
                                                                     capsys, monkeypatch):
    """Rows left out were said in report.md only, a scale without BatchNorm
    statistics of its own was read silently (infer.py warns), and Ctrl-C
    was a traceback."""
    from unittest import mock

    from dld.apis import flops_accuracy
    tool, run = tool_and_run
    args = [run['config'], run['student'], '--out', str(tmp_path / 'r'), '--device', 'cpu',
            '--max-batches', '1']
    with mock.patch.object(flops_accuracy, 'print_log') as log:
        assert tool.main([*args, '--scales', '0.7']) == 0
    warned = [c.args[0] for c in log.call_args_list if 'was trained at' in c.args[0]]
    assert len(warned) == 1 and warned[0].startswith('--scales 0.7 is none of the scales')
    err = capsys.readouterr().err
    assert ('flops_accuracy.py: note: no-KD rows skipped: no --baseline-ckpt / '
            'baseline_checkpoint= given') in err
    monkeypatch.setattr(flops_accuracy.FlopsAccuracyEvaluator, 'evaluate',
                        mock.Mock(side_effect=KeyboardInterrupt))
    assert tool.main([*args, '--out', str(tmp_path / 'stopped')]) == 130
    err = capsys.readouterr().err
    assert 'flops_accuracy.py: stopped by Ctrl-C: no report written' in err
    assert 'Traceback' not in err and not (tmp_path / 'stopped').exists()
    # while the test set is read (the long part): a SIGTERM to the process
    # group kills the loader's workers first
    killed = RuntimeError('DataLoader worker (pid 5) is killed by signal: Terminated.')
    monkeypatch.setattr(flops_accuracy, 'CachedTestSet', mock.Mock(side_effect=killed))
    assert tool.main([*args, '--out', str(tmp_path / 'stopped')]) == 143
    assert 'flops_accuracy.py: stopped by SIGTERM: no report written' in \
        capsys.readouterr().err
