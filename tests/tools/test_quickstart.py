"""tools/quickstart.py, the README's main command: end to end on a tiny set
(each step runs, the outputs it names exist, and its summary counts what
the inference step wrote), the commands it runs, and its check of the
teacher."""
import json
import os.path as osp
import re

import pytest

# One epoch that ends with validation (so best.pth exists).
ONE_EPOCH = '''
model = {model}
train_cfg = dict(max_epochs=1, val_interval=1)
'''


@pytest.mark.slow
@pytest.mark.parametrize('setting,stream,given_teacher', [('efficiency', 'hr', False),
                                                          ('lr', 'lr', True)])
def test_quickstart_runs_every_step_and_reports_what_it_read(load_tool, tiny_config, train_tool,
                                                              run_name, tmp_path, capsys,
                                                              setting, stream, given_teacher):
    """In the LR setting with a teacher trained already (``--teacher``, as a
    user trying the other setting would): step 1 is skipped."""
    quickstart = load_tool('quickstart')
    data = str(tmp_path / 'data')
    configs = {}
    for name, base, model in (
            ('teacher', 'configs/quickstart/teacher.py', 'dict(_tiny)'),
            ('dld', quickstart.DLD_CONFIGS[setting], 'dict(teacher=_tiny, student=_tiny)')):
        configs[name] = tmp_path / f'{name}.py'
        configs[name].write_text(tiny_config(base, data, ONE_EPOCH.format(model=model)))
    work = tmp_path / 'work'
    teacher = work / 'teacher'
    given = []
    if given_teacher:
        teacher = tmp_path / 'trained_before'
        train_tool.main([str(configs['teacher']), '--work-dir', str(teacher), '--cfg-options',
                         f'experiment_name={run_name()}'])
        given = ['--teacher', str(teacher)]
    assert quickstart.main(['--work-dir', str(work), '--teacher-config', str(configs['teacher']),
                            '--config', str(configs['dld']), '--tracks', '2', *given,
                            '--min-teacher-accuracy', '0']) == 0  # one tiny epoch reads none
    out = capsys.readouterr().out

    assert osp.isfile(teacher / 'best.pth') and osp.isfile(work / 'student.pth')
    assert osp.isdir(work / 'teacher') is not given_teacher  # trained here, or not at all
    report = json.loads((work / 'report' / 'report.json').read_text())
    assert report and osp.isfile(work / 'report' / 'pareto.png')
    sample = (work / 'sample.txt').read_text().splitlines()
    assert len(sample) == 2 and all(osp.isabs(line.split(',')[0]) for line in sample)

    frames = [json.loads(line) for line in (work / 'predictions.jsonl').read_text().splitlines()]
    assert len(frames) == 4  # 2 tracks x 2 frames
    assert all(r['error'] is None and f'/{stream}-' in r['path'] for r in frames)
    tracks = [json.loads(line)
              for line in (work / 'predictions.tracks.jsonl').read_text().splitlines()]
    assert len(tracks) == 2
    right = sum(r['text'] == r['gt_text'] for r in frames)
    voted = sum(t['text'] == t['gt_text'] for t in tracks)
    summary = re.search(r'(\d+)/4 sample frames read right \(scales chosen: (.*)\); '
                        r'(\d+)/2 tracks', out)
    assert summary, out
    assert int(summary.group(1)) == right and int(summary.group(3)) == voted
    chosen = {float(part.split('x ')[0]): int(part.split('x ')[1])
              for part in summary.group(2).split(', ')}
    assert sum(chosen.values()) == 4
    assert chosen == {s: sum(r['scale'] == s for r in frames) for s in chosen}
    assert str(teacher / 'best.pth') in out
    # the sample's figures said to be the sample's (they were read against the report's)
    assert f"(of the sample; the test split's figures are in {work / 'report'}/report.md)" in out
    for name in ('student.pth', 'report/report.md', 'predictions.jsonl'):
        assert str(work / name) in out


class Stop(Exception):
    pass


def _commands(quickstart, monkeypatch, argv):
    """The two training commands quickstart would run (nothing runs)."""
    calls = []

    def record(step, cmd):
        calls.append(cmd)
        if len(calls) == 2:
            raise Stop

    monkeypatch.setattr(quickstart, 'run', record)
    with pytest.raises(Stop):
        quickstart.main(argv)
    return calls


# No teacher is trained in the tests below: it is not checked either.
NO_CHECK = ['--min-teacher-accuracy', '0']


@pytest.mark.parametrize('flags', [[], ['--amp']])
def test_quickstart_passes_amp_to_both_training_runs(load_tool, tmp_path, monkeypatch, flags):
    quickstart = load_tool('quickstart')
    calls = _commands(quickstart, monkeypatch, ['--work-dir', str(tmp_path), *NO_CHECK, *flags])
    assert [cmd[0] for cmd in calls] == ['tools/train.py'] * 2
    assert all(('--amp' in cmd) == bool(flags) for cmd in calls)
    assert all('--brief' in cmd for cmd in calls)  # the set-up text in the logs only


def _teacher_run(teacher_dir, best_score, key='plate_accuracy'):
    """A teacher work dir whose best checkpoint records ``best_score`` of ``key``."""
    import torch
    teacher_dir.mkdir(parents=True, exist_ok=True)  # a rerun trains into it again
    best = str(teacher_dir / f'best_{key}_epoch_3.pth')
    torch.save(dict(state_dict={}, message_hub=dict(runtime_info=dict(
        best_score=best_score, best_ckpt=best))), teacher_dir / 'best.pth')


class TeacherRuns:
    """Stands in for quickstart's ``run``: each teacher run leaves a best
    checkpoint with the next of ``scores``; the first DLD run stops it."""

    def __init__(self, scores):
        self.scores, self.calls = list(scores), []

    def __call__(self, step, cmd):
        self.calls.append(cmd)
        if 'teacher_ckpt' in ' '.join(cmd):
            raise Stop
        import pathlib
        _teacher_run(pathlib.Path(cmd[cmd.index('--work-dir') + 1]), self.scores.pop(0))


def test_a_teacher_on_its_plateau_is_trained_again_from_another_seed(load_tool, tmp_path,
                                                                      monkeypatch, capsys):
    quickstart = load_tool('quickstart')
    runs = TeacherRuns([0.125, 0.9])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(Stop):
        quickstart.main(['--work-dir', str(tmp_path), '--teacher-epochs', '14'])
    first, second, dld = runs.calls
    epochs = ['train_cfg.max_epochs=14', 'param_scheduler.0.end=14']
    assert first[-3:] == ['--cfg-options', *epochs]
    seed = quickstart.config_seed('configs/quickstart/teacher.py')
    # One --cfg-options (a second would replace the first), with the epochs.
    assert second.count('--cfg-options') == 1
    assert second[second.index('--cfg-options') + 1:] == [*epochs, f'randomness.seed={seed + 1}']
    assert second[second.index('--work-dir') + 1] == str(tmp_path / 'teacher_2')
    assert f'model.teacher_ckpt={tmp_path / "teacher_2"}' in dld  # the good teacher teaches
    out = capsys.readouterr().out
    assert 'read 12.5 % of its validation' in out and 'read 90.0 % of its validation' in out


def test_the_quickstart_stops_when_no_teacher_leaves_the_plateau(load_tool, tmp_path,
                                                                 monkeypatch):
    quickstart = load_tool('quickstart')
    runs = TeacherRuns([0.125, 0.0, 0.25])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(SystemExit,
                       match=r'No teacher of 3 scored at least 50 % .*--teacher-epochs'):
        quickstart.main(['--work-dir', str(tmp_path), '--teacher-attempts', '3'])
    assert len(runs.calls) == 3  # three teachers, no DLD run from any of them
    seed = quickstart.config_seed('configs/quickstart/teacher.py')
    assert [c[-1] for c in runs.calls[1:]] == [f'randomness.seed={seed + 1}',
                                              f'randomness.seed={seed + 2}']


def test_a_teacher_that_reads_enough_plates_goes_on_to_dld(load_tool, tmp_path, monkeypatch,
                                                           capsys):
    quickstart = load_tool('quickstart')
    runs = TeacherRuns([0.9])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(Stop):
        quickstart.main(['--work-dir', str(tmp_path)])
    assert len(runs.calls) == 2  # one teacher, then DLD
    assert '--cfg-options' not in runs.calls[0]  # the config's own epochs and seed
    out = capsys.readouterr().out
    assert 'the teacher read 90.0 % of its validation plates (plate/accuracy)' in out
    # its 0 % epochs on the plateau are said to be expected, before they are logged
    assert out.index("decoder's early plateau, expected") < out.index('the teacher read')


def test_configs_relative_to_the_current_folder_reach_the_steps(load_tool, tmp_path,
                                                                monkeypatch):
    quickstart = load_tool('quickstart')
    (tmp_path / 'mine').mkdir()
    for name in ('teacher.py', 'dld.py'):
        (tmp_path / 'mine' / name).write_text('')
    monkeypatch.chdir(tmp_path)
    teacher, dld = _commands(quickstart, monkeypatch, [
        '--work-dir', 'out', '--teacher-config', 'mine/teacher.py', '--config', 'mine/dld.py',
        *NO_CHECK])
    assert teacher[1] == str(tmp_path / 'mine' / 'teacher.py')
    assert dld[1] == str(tmp_path / 'mine' / 'dld.py')
    assert teacher[teacher.index('--work-dir') + 1] == str(tmp_path / 'out' / 'teacher')


def test_the_default_configs_are_the_repositorys_from_any_folder(load_tool, tmp_path,
                                                                 monkeypatch):
    quickstart = load_tool('quickstart')
    monkeypatch.chdir(tmp_path)
    teacher, dld = _commands(quickstart, monkeypatch, ['--work-dir', 'out', *NO_CHECK])
    repo = osp.dirname(osp.dirname(osp.abspath(quickstart.__file__)))
    assert osp.isfile(osp.join(repo, teacher[1]))
    assert osp.isfile(osp.join(repo, dld[1]))
    assert dld[1].endswith(quickstart.DLD_CONFIGS['efficiency'])


def test_each_step_prints_the_command_a_user_would_type(load_tool, capsys):
    quickstart = load_tool('quickstart')
    quickstart.run('1/1 a step', ['-c', 'print("ran")'])
    out = capsys.readouterr().out
    assert '$ python -c print("ran")' in out  # not "$ -c ...": runnable as shown
    assert '1/1 a step: done in' in out


def test_a_step_imports_packages_of_the_folder_the_quickstart_started_in(load_tool, tmp_path,
                                                                         monkeypatch, capfd):
    """Steps run in the repository; a project config's custom_imports name
    a package of the user's folder (docs/customize.md)."""
    quickstart = load_tool('quickstart')
    (tmp_path / 'my_plate_pkg').mkdir()
    (tmp_path / 'my_plate_pkg' / '__init__.py').write_text('WHERE = "mine"\n')
    monkeypatch.chdir(tmp_path)
    quickstart.run('1/1 a step', ['-c', 'import my_plate_pkg; print(my_plate_pkg.WHERE)'])
    assert 'mine' in capfd.readouterr().out


def test_a_given_teacher_is_distilled_from_and_checked_like_a_trained_one(load_tool, tmp_path,
                                                                          monkeypatch, capsys):
    quickstart = load_tool('quickstart')
    _teacher_run(tmp_path / 'good', 0.9)
    runs = TeacherRuns([])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(Stop):
        quickstart.main(['--work-dir', str(tmp_path / 'w'), '--teacher', str(tmp_path / 'good')])
    [dld] = runs.calls  # no teacher trained: the DLD run reads the given one
    assert f'model.teacher_ckpt={tmp_path / "good"}' in dld
    assert ('the teacher read 90.0 % of its validation plates (plate/accuracy)'
            in capsys.readouterr().out)

    _teacher_run(tmp_path / 'plateau', 0.1)
    runs = TeacherRuns([])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(SystemExit, match=r'plateau.*scores below 50 % on its validation set'):
        quickstart.main(['--work-dir', str(tmp_path / 'w'), '--teacher',
                         str(tmp_path / 'plateau')])
    assert runs.calls == []


def test_a_teacher_kept_by_its_1_ned_is_said_and_judged_so(load_tool, tmp_path, monkeypatch,
                                                            capsys):
    """A word config keeping its best by 1-NED: the quickstart printed its
    1-NED as 'the teacher reads 6.7 % of validation plates'."""
    quickstart = load_tool('quickstart')
    _teacher_run(tmp_path / 'words', 0.067, key='word_one_minus_ned')
    monkeypatch.setattr(quickstart, 'run', TeacherRuns([]))
    with pytest.raises(SystemExit, match=r'scores below 50 % on its validation set'):
        quickstart.main(['--work-dir', str(tmp_path / 'w'), '--teacher', str(tmp_path / 'words')])
    assert ('the teacher scored 6.7 % (word/one_minus_ned) on its validation set'
            in capsys.readouterr().out)
    # a best kept by another key (a loss, say): not judged, and said
    _teacher_run(tmp_path / 'loss', 0.3, key='loss')
    runs = TeacherRuns([])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(Stop):
        quickstart.main(['--work-dir', str(tmp_path / 'w2'), '--teacher', str(tmp_path / 'loss')])
    assert 'is not checked' in capsys.readouterr().out and len(runs.calls) == 1


@pytest.mark.parametrize('args, says', [
    (['--teacher', '{tmp}/none'], 'no best.pth in it'),
    (['--teacher', '{tmp}', '--teacher-epochs', '3'], '--teacher gives one trained already'),
])
def test_a_given_teacher_is_checked_before_any_step(load_tool, tmp_path, capsys, args, says):
    quickstart = load_tool('quickstart')
    (tmp_path / 'best.pth').write_bytes(b'')
    with pytest.raises(SystemExit):
        quickstart.main(['--work-dir', str(tmp_path / 'w'),
                         *[a.format(tmp=tmp_path) for a in args]])
    assert says in capsys.readouterr().err
    assert not (tmp_path / 'w').exists()


def test_a_step_that_fails_or_is_stopped_ends_the_quickstart_in_one_line(load_tool, capsys):
    """A failing step was the quickstart's own CalledProcessError traceback
    after the tool's line; Ctrl-C killed the tool 0.25 s into its clean-up,
    and a SIGTERM to the quickstart alone left the tool training."""
    import signal
    quickstart = load_tool('quickstart')
    with pytest.raises(SystemExit) as exit_:
        quickstart.run('1/5 a step', ['-c', 'import sys; sys.exit(3)'])
    assert exit_.value.code == 3
    assert 'quickstart.py: step 1/5 a step failed (exit status 3; its message is above)' in \
        capsys.readouterr().err
    before = signal.getsignal(signal.SIGTERM)
    stopped_tool = ('import os, signal, sys, time\n'
                    'os.kill(os.getppid(), signal.SIGTERM)\n'  # the quickstart is sent SIGTERM
                    'time.sleep(30)\n'  # and passes it on: this ends here
                    'sys.exit(5)\n')
    with pytest.raises(SystemExit) as exit_:
        quickstart.run('2/5 another', ['-c', stopped_tool])
    assert exit_.value.code == 143
    assert 'quickstart.py: stopped by SIGTERM during step 2/5 another' in \
        capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before



def test_a_rerun_reads_the_teacher_an_earlier_quickstart_trained(load_tool, tmp_path,
                                                                 monkeypatch, capsys):
    """A second quickstart trained the teacher again from scratch (about 6 min),
    and an interrupted one left its best.pth beside a newer run's files (a
    fresh-machine journey)."""
    quickstart = load_tool('quickstart')
    runs = TeacherRuns([0.9])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(Stop):
        quickstart.main(['--work-dir', str(tmp_path)])
    assert len(runs.calls) == 2  # the first run: a teacher, then DLD
    runs = TeacherRuns([])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(Stop):
        quickstart.main(['--work-dir', str(tmp_path)])
    [dld] = runs.calls  # the second: the first one's teacher
    assert f'model.teacher_ckpt={tmp_path / "teacher"}' in dld
    assert 'the one an earlier quickstart trained' in capsys.readouterr().out
    runs = TeacherRuns([0.9])
    monkeypatch.setattr(quickstart, 'run', runs)
    with pytest.raises(Stop):
        quickstart.main(['--work-dir', str(tmp_path), '--retrain-teacher'])
    assert len(runs.calls) == 2  # asked for: trained again


@pytest.mark.parametrize('case', ['other_epochs', 'other_config', 'interrupted', 'plateau'])
def test_a_teacher_of_another_config_or_unfinished_is_trained_again(load_tool, tmp_path,
                                                                    monkeypatch, case):
    """A teacher is read again only as the one this run would train: the
    same config as read (an edited copy of the same name was reused by name)
    and epochs, finished and judged good (a review)."""
    quickstart = load_tool('quickstart')
    runs = TeacherRuns([0.9])
    monkeypatch.setattr(quickstart, 'run', runs)
    first = ['--work-dir', str(tmp_path)] + (
        ['--teacher-epochs', '12'] if case == 'other_epochs' else [])
    with pytest.raises(Stop):
        quickstart.main(first)
    again = ['--work-dir', str(tmp_path)]
    stamp = tmp_path / 'teacher' / quickstart.TEACHER_STAMP
    if case == 'other_config':  # a copy of the same name, edited
        edited = tmp_path / 'proj' / 'teacher.py'
        edited.parent.mkdir()
        edited.write_text("_base_ = [{!r}]\ntrain_cfg = dict(max_epochs=3)\n".format(
            osp.join(quickstart.REPO, 'configs/quickstart/teacher.py')))
        again += ['--teacher-config', str(edited)]
    elif case == 'interrupted':  # a run that starts training removes the stamp
        stamp.unlink()
    elif case == 'plateau':
        runs.scores = []
        monkeypatch.setattr(quickstart, 'teacher_accuracy',
                            lambda d: (0.1, 'plate/accuracy', 'read 10.0 %'))
    runs = TeacherRuns([0.9] * 2)
    monkeypatch.setattr(quickstart, 'run', runs)
    if case == 'plateau':
        with pytest.raises(SystemExit):  # trained again, and again on the plateau
            quickstart.main(again)
        assert len(runs.calls) == 2
        return
    with pytest.raises(Stop):
        quickstart.main(again)
    assert len(runs.calls) == 2  # a teacher trained, then DLD
