"""A config that is not there, or a folder, is one line naming it and exit
status 2 in every tool that reads a config, as train.py and test.py say it:
flops_accuracy.py and calibrate_reread.py ended with a traceback and status
1, infer.py called a folder "not found"."""
import pytest


@pytest.mark.parametrize('tool, args', [
    ('flops_accuracy', ['--out', 'report']),
    ('calibrate_reread', []),
    ('deployment/export_onnx', ['--out-dir', 'exported']),
])
@pytest.mark.parametrize('given', ['nope.py', 'folder'])
def test_a_config_that_is_no_file_is_one_line_and_status_2(load_tool, tmp_path, monkeypatch,
                                                           capsys, tool, args, given):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv('DLD_TRACEBACK', raising=False)
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'model.pth').write_bytes(b'')
    try:
        status = load_tool(tool).main([given, 'model.pth', *args])
    except SystemExit as stop:
        status = stop.code
    assert status == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    name = tool.rsplit('/', 1)[-1]
    assert line == (f'{name}.py: folder: a folder, not a config file' if given == 'folder'
                    else f'{name}.py: nope.py: no such config file')


def test_infer_says_a_folder_given_as_config_is_a_folder(load_tool, tmp_path, monkeypatch,
                                                         capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'model.pth').write_bytes(b'')
    (tmp_path / 'a.png').write_bytes(b'')
    assert load_tool('infer').main(['folder', 'model.pth', 'a.png']) == 2
    assert capsys.readouterr().err.strip() == \
        'infer.py: cannot load the model: folder: a folder, not a config file'
