"""tools/make_synth_plates.py: a wrong option is a usage error naming it,
before anything is rendered or written."""
import os.path as osp
import sys

import pytest


@pytest.mark.parametrize('argv, says', [
    (['--hr-size', '0', '10'], '--hr-size'),              # was OpenCV's error
    (['--hr-size', '8', '-4'], '--hr-size'),              # was numpy's
    (['--degradation', '[1]'], 'JSON object'),            # was a TypeError
    (['--degradation', '{bad'], 'not valid JSON'),
    (['--workers', '-2'], '--workers must be >= 0'),      # was taken as 0
    (['--tracks', '-3'], '--tracks must be >= 0'),        # was a traceback
    (['--val-tracks', '-1'], '--val-tracks must be >= 0'),
    (['--frames', '0'], '--frames must be >= 1'),
    (['--layout-weights', '1', '-1'], '--layout-weights needs one weight >= 0'),
    (['--layout-weights', '1'], 'per layout (2: brazilian mercosur)'),
])
def test_a_wrong_option_is_a_usage_error_naming_it(load_tool, tmp_path, monkeypatch, capsys,
                                                   argv, says):
    tool = load_tool('make_synth_plates')
    out = tmp_path / 'plates'
    monkeypatch.setattr(sys, 'argv', ['make_synth_plates.py', str(out), '--tracks', '1',
                                      '--val-tracks', '0', '--test-tracks', '0', '--frames', '1',
                                      '--no-progress', *argv])
    with pytest.raises(SystemExit) as info:
        tool.main()
    assert info.value.code == 2
    assert says in capsys.readouterr().err
    assert not osp.exists(out)


def test_degradation_overrides_reach_the_generator(load_tool, monkeypatch):
    tool = load_tool('make_synth_plates')
    args = tool.parse_args(['out', '--degradation', '{"scale": [0.2, 0.3]}'])
    assert args.degradation == {'scale': [0.2, 0.3]}


def test_another_set_in_the_folder_is_refused_with_status_2(load_tool, tmp_path, monkeypatch,
                                                           capsys):
    """As the other refusals (it exited with 1)."""
    tool = load_tool('make_synth_plates')
    out = tmp_path / 'plates'
    base = ['make_synth_plates.py', str(out), '--val-tracks', '0', '--test-tracks', '0',
            '--frames', '1', '--no-progress']
    monkeypatch.setattr(sys, 'argv', base + ['--tracks', '1'])
    tool.main()
    monkeypatch.setattr(sys, 'argv', base + ['--tracks', '2'])
    with pytest.raises(SystemExit) as info:
        tool.main()
    assert info.value.code == 2
    assert 'already holds a plate set' in capsys.readouterr().err


def test_no_progress_bar_is_drawn_where_stderr_is_no_terminal(load_tool, monkeypatch):
    """A pipe or CI log held every redraw of the bar (carriage returns)."""
    tool = load_tool('make_synth_plates')
    asked = []
    monkeypatch.setattr(tool, 'generate_synth_plates', lambda *a, **kw: asked.append(kw))
    args = tool.parse_args(['out'])
    monkeypatch.setattr(tool.sys.stderr, 'isatty', lambda: False, raising=False)
    tool._generate(args)
    monkeypatch.setattr(tool.sys.stderr, 'isatty', lambda: True, raising=False)
    tool._generate(args)
    assert [kw['progress'] for kw in asked] == [False, True]


def test_a_full_disk_is_one_line_and_leaves_no_rendered_tracks(tmp_path, capsys, monkeypatch):
    """A traceback, and the hidden staging folder of the tracks rendered so
    far left behind, holding the space the disk lacked."""
    import os

    from full_disk import fill_disk_for
    from repo_scripts import load_script
    tool = load_script('tools/make_synth_plates.py')
    out = tmp_path / 'sp'
    fill_disk_for(monkeypatch, 'hr-002.png')
    with pytest.raises(SystemExit) as exit_:
        tool.main([str(out), '--tracks', '3', '--frames', '2', '--no-progress'])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert f'make_synth_plates.py: cannot write {out}' in err and \
        'No space left on device' in err and 'Traceback' not in err
    assert os.listdir(out) == []


@pytest.mark.parametrize('full, left', [
    # rendered, then meta.json refused: every track waits in the staging folder
    ('meta.json', 'the rendered tracks are left in {out}/.synth_partial, which the next run '
                  'removes'),
    # the tracks took their place, a split file was refused
    ('test.txt', "{out} holds a set's train, val, test folder(s) without every split file, "
                 'which no run reads as a set: make it again with --overwrite'),
])
def test_a_full_disk_past_the_rendering_says_what_it_left(tmp_path, capsys, monkeypatch,
                                                          full, left):
    """It said 'the tracks rendered so far are removed' where they were not."""
    from full_disk import fill_disk_for
    from repo_scripts import load_script
    tool = load_script('tools/make_synth_plates.py')
    out = tmp_path / 'sp'
    fill_disk_for(monkeypatch, full)
    with pytest.raises(SystemExit) as exit_:
        tool.main([str(out), '--tracks', '2', '--frames', '1', '--no-progress'])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert f"no set written ({left.format(out=out)})" in err, err
    assert 'removed' not in err


@pytest.mark.parametrize('under', ['', 'sub'])
def test_a_file_as_the_output_folder_is_refused_up_front(load_tool, tmp_path, capsys, under):
    """It failed writing FILE/.synth_partial ('Not a directory') with status 1."""
    tool = load_tool('make_synth_plates')
    file = tmp_path / 'file'
    file.write_text('mine')
    out = osp.join(file, under) if under else str(file)
    with pytest.raises(SystemExit) as info:
        tool.main([out, '--tracks', '1', '--frames', '1', '--no-progress'])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert (f'the output folder {file} is a file; give a folder' if not under else
            f'{file} is a file, not a folder') in err, err
    assert file.read_text() == 'mine'
