"""Refusals that printed a traceback now end the tool with one line and
exit status 2, as infer.py's do (a docs journey's findings)."""
import os.path as osp
import sys

import pytest
from mmengine.logging import MMLogger
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from attention_dld import make_attention_dld  # noqa: E402


@pytest.fixture(scope='module')
def untrained(tmp_path_factory):
    return make_attention_dld(str(tmp_path_factory.mktemp('refusals')))


def _one_line(capsys, tool: str) -> str:
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    line = [x for x in err.splitlines() if x.startswith(f'{tool}: ')]
    assert len(line) == 1, err
    return line[0]


def test_flops_accuracy_refuses_a_forced_scale_in_one_line(untrained, tmp_path, capsys):
    tool = load_script('tools/flops_accuracy.py')
    assert tool.main([untrained['config'], untrained['checkpoint'], '--out',
                      str(tmp_path / 'report'), '--cfg-options',
                      'model.test_cfg.force_scale=0.6']) == 2
    assert 'force_scale=0.6' in _one_line(capsys, 'flops_accuracy.py')
    assert not (tmp_path / 'report').exists()


def test_test_py_refuses_a_truncated_checkpoint_in_one_line(untrained, tmp_path, capsys):
    truncated = tmp_path / 'cut.pth'
    with open(untrained['checkpoint'], 'rb') as f:
        truncated.write_bytes(f.read(1000))
    tool = load_script('tools/test.py')
    with pytest.raises(SystemExit) as exit_:
        tool.main([untrained['config'], str(truncated), '--work-dir', str(tmp_path / 'w'),
                   '--cfg-options', 'test_cfg.type=TestLoop'])
    assert exit_.value.code == 2
    assert f"'{truncated}' (1000 bytes)" in _one_line(capsys, 'test.py')


@pytest.mark.parametrize('args, says', [
    (['--tracks', '100', '--layouts', 'NN'], 'the layouts'),
    (['--tracks', '10', '--degradation', '{"scale": [0.35, 0.15]}'], 'reversed range'),
    # a misspelt parameter was a KeyError's traceback
    (['--tracks', '10', '--degradation', '{"scael": [0.15, 0.35]}'],
     "Unknown degradation parameter(s) ['scael']"),
    # LR frames larger than the HR ones
    (['--tracks', '10', '--degradation', '{"scale": [0.2, 5]}'],
     'scale (the LR size as a fraction of the HR one) must lie in (0, 1], got [0.2, 5]'),
])
def test_make_synth_plates_refuses_impossible_sets_in_one_line(tmp_path, capsys, args, says):
    tool = load_script('tools/make_synth_plates.py')
    with pytest.raises(SystemExit) as exit_:
        tool.main([str(tmp_path / 'plates'), '--no-progress', *args])
    assert exit_.value.code == 2
    assert says in _one_line(capsys, 'make_synth_plates.py')
    assert not (tmp_path / 'plates' / 'train').exists()


@pytest.mark.parametrize('option, says', [
    # a training label longer than the decoder emits (LabelLengthCheckHook)
    ('model.decoder.max_seq_len=5', 'have more than 4 characters, the most model.decoder emits'),
    # a dictionary file of lower case for a case-insensitive decoder
    ('model.decoder.dictionary.dict_file={chars}', "could never encode its character(s) ['k']"),
])
def test_train_py_refuses_labels_and_dictionaries_in_one_line(tiny_teacher_config, train_tool,
                                                              run_name, tmp_path, capsys, option,
                                                              says):
    chars = tmp_path / 'chars.txt'
    chars.write_text('A\nk\n0\n')
    # The tiny set is generated (and logged) before the runner makes its
    # logger: replace the current logger, which an earlier test made on a
    # stream that is closed now.
    MMLogger.get_instance(run_name())
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'experiment_name={run_name()}',
                         option.format(chars=chars)])
    assert exit_.value.code == 2
    assert says in _one_line(capsys, 'train.py')


def test_a_config_that_is_not_python_is_one_line_naming_its_file(tmp_path, capsys):
    (tmp_path / 'base.py').write_text('a = 1\nb = (\n')
    (tmp_path / 'mine.py').write_text("_base_ = ['base.py']\n")
    tool = load_script('tools/train.py')
    with pytest.raises(SystemExit) as exit_:
        tool.main([str(tmp_path / 'mine.py'), '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    assert _one_line(capsys, 'train.py').startswith(
        f"train.py: {tmp_path / 'base.py'}:2: syntax error: '(' was never closed")


@pytest.mark.parametrize('option, says', [
    # MMEngine builds the sets inside runner.train(): each was a traceback
    # of hundreds of lines
    ('train_dataloader.dataset.ann_file=nope.txt',
     "train.py: Label file not found: '"),
    ('val_dataloader.dataset.load_hr=False',
     'train.py: the validation loop (val_dataloader, val_evaluator, val_cfg) cannot be built: '
     "PairedPlateDataset: the pipeline's "
     'LoadPlateImages(with_hr=True) reads HR frames, but this set gives it none'),
])
def test_train_py_refuses_a_set_that_cannot_be_built_in_one_line(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys, option, says):
    MMLogger.get_instance(run_name())  # as above: a logger on an open stream
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'experiment_name={run_name()}', option])
    assert exit_.value.code == 2
    line = _one_line(capsys, 'train.py')
    assert line.startswith(says)
    # the run's log file says why it stopped (it held the start and then nothing)
    [log] = (tmp_path / 'w').glob('*/*.log')
    assert line in log.read_text()


def test_a_hook_that_needs_a_selector_on_a_model_without_one_is_one_line(
        tiny_teacher_config, train_tool, run_name, tmp_path, capsys):
    """GumbelTemperatureHook left in custom_hooks of a model without a
    selector was an AttributeError traceback, exit 1."""
    config = tmp_path / 'mine.py'
    config.write_text(f'_base_ = [{tiny_teacher_config!r}]\n'
                      "custom_hooks = [dict(type='GumbelTemperatureHook')]\n")
    MMLogger.get_instance(run_name())  # as above: a logger on an open stream
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'experiment_name={run_name()}'])
    assert exit_.value.code == 2
    assert _one_line(capsys, 'train.py').startswith(
        'train.py: GumbelTemperatureHook needs the model to have a `selector`')


def test_a_missing_teacher_is_refused_before_the_run_starts(train_tool, tmp_path, capsys):
    """It was found as the model was built: after the synthetic set was made
    and the whole config logged (some 800 lines before it)."""
    config = tmp_path / 'dld.py'
    config.write_text(f"_base_ = [{osp.join(REPO, 'configs', 'quickstart', 'dld.py')!r}]\n"
                      f"model = dict(teacher_ckpt={str(tmp_path / 'teacher')!r})\n"
                      f"synth_plates = dict(data_root={str(tmp_path / 'data')!r})\n")
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"train.py: the config cannot be built: Teacher checkpoint not found: "
                          f"'{tmp_path / 'teacher'}'. Train one first with ")
    assert len(err.splitlines()) == 1 and 'Config:' not in out
    assert not (tmp_path / 'data').exists() and not (tmp_path / 'w').exists()


@pytest.mark.parametrize('tool', ['train', 'test', 'flops_accuracy', 'calibrate_reread',
                                  'infer'])
def test_a_base_that_is_not_there_or_an_import_that_fails_is_one_line(tmp_path, capsys, tool):
    """Both were tracebacks (exit 1) from every tool but infer.py, whose line
    named neither the file listing the base nor the line."""
    (tmp_path / 'mid.py').write_text("a = 1\n_base_ = ['gone/base.py']\n")
    (tmp_path / 'mine.py').write_text("_base_ = ['mid.py']\n")
    (tmp_path / 'imports.py').write_text(
        "custom_imports = dict(imports=['a_project_not_here.x'], allow_failed_imports=False)\n")
    extra = {'train': [], 'test': ['w.pth'], 'flops_accuracy': ['w.pth', '--out',
                                                                str(tmp_path / 'r')],
             'calibrate_reread': ['w.pth'], 'infer': ['w.pth', str(tmp_path)]}[tool]
    main = load_script(f'tools/{tool}.py').main
    # a data mixin beside a shipped config: MMEngine's KeyError named neither (an extending
    # journey); the file that lists both is named, nested in another
    (tmp_path / 'data.py').write_text('train_dataloader = dict(batch_size=4)\n')
    (tmp_path / 'both.py').write_text(
        f"x = 1\n_base_ = [{osp.join(REPO, 'configs', 'teacher_plate_hr.py')!r}, './data.py']\n")
    (tmp_path / 'over.py').write_text("_base_ = ['both.py']\n")
    for config, says in (('mine.py', f"{tmp_path / 'mid.py'}:2: its _base_ 'gone/base.py' is "
                          f"not there ({tmp_path / 'gone' / 'base.py'})"),
                         ('over.py', f"{tmp_path / 'both.py'}:2: its _base_ files "
                          f"'{REPO}/configs/teacher_plate_hr.py' and './data.py' both set "
                          'train_dataloader, and MMEngine merges no key two bases share; chain '
                          "them (give './data.py' a `_base_ = ["),
                         ('imports.py', f"{tmp_path / 'imports.py'}: its custom_imports failed: "
                          "No module named 'a_project_not_here'")):
        try:
            status = main([str(tmp_path / config), *extra])
        except SystemExit as exit_:
            status = exit_.code
        assert status == 2
        assert says in _one_line(capsys, f'{tool}.py')


@pytest.mark.parametrize('tool', ['infer', 'flops_accuracy', 'calibrate_reread',
                                  'deployment/export_onnx'])
def test_a_tool_without_launcher_refuses_several_processes(tool, tmp_path, capsys, monkeypatch):
    """Under torchrun infer.py ran whole in each process, each writing the
    same --out and printing its summary (a distributed journey)."""
    main = load_script(f'tools/{tool}.py').main
    argv = {'infer': ['c.py', 'w.pth', str(tmp_path)],
            'flops_accuracy': ['c.py', 'w.pth', '--out', str(tmp_path / 'r')],
            'calibrate_reread': ['c.py', 'w.pth'],
            'deployment/export_onnx': ['c.py', 'w.pth', '--out-dir', str(tmp_path / 'r')]}[tool]
    tool = tool.rsplit('/', 1)[-1]
    monkeypatch.setenv('WORLD_SIZE', '2')
    for rank, says in (('0', True), ('1', False)):
        monkeypatch.setenv('RANK', rank)
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert (f'{tool}.py: reads in one process, but was started in 2 (torchrun' in err) == says
        assert len(err.splitlines()) == int(says)
    assert not (tmp_path / 'r').exists()


class _RunsOnLoad:
    """A pickle payload: unpickled, it would write ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.mark.parametrize('where', ['teacher_ckpt', 'init_cfg', 'load_from'])
@pytest.mark.parametrize('what', ['payload', 'url'])
def test_a_refused_checkpoint_of_the_config_is_one_line(where, what, train_tool, tiny_config,
                                                       run_name, tmp_path, capsys):
    """A teacher or init_cfg checkpoint refused as unsafe was a traceback;
    a URL was downloaded (load_from, init_cfg) or read as a local path
    ('/work/main/http:/...', teacher_ckpt)."""
    import torch
    payload = tmp_path / 'payload.pth'
    torch.save(dict(state_dict={}, meta=dict(x=_RunsOnLoad(str(tmp_path / 'ran')))), payload)
    ckpt = str(payload) if what == 'payload' else 'https://example.invalid/w.pth'
    if where == 'teacher_ckpt':
        rest = (f"model = dict(teacher_ckpt={ckpt!r}, teacher=_tiny, student=_tiny)\n"
                "train_cfg = dict(max_epochs=1)\n")
        base = 'configs/dld_plate.py'
    else:
        rest = 'model = dict(_tiny)\ntrain_cfg = dict(max_epochs=1)\n' + (
            f"model['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint={ckpt!r})\n"
            if where == 'init_cfg' else f'load_from = {ckpt!r}\n')
        base = 'configs/teacher_plate_hr.py'
    config = tmp_path / 'mine.py'
    config.write_text(tiny_config(base, str(tmp_path / 'data'), rest))
    MMLogger.get_instance(run_name())  # a logger on an open stream (see above)
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'experiment_name={run_name()}'])
    assert exit_.value.code == 2
    line = _one_line(capsys, 'train.py')
    if what == 'payload':
        assert f"Refusing to load checkpoint '{payload}': it needs the global `io.open`" in line
    else:
        assert 'https://example.invalid/w.pth: DLD reads checkpoints from local files only' \
            in line
    assert not (tmp_path / 'ran').exists()


def test_a_teacher_checkpoint_that_does_not_fit_the_config_is_one_line(
        train_tool, tiny_config, run_name, tmp_path, capsys):
    """A teacher of other widths was a 70-line traceback, exit status 1,
    where get_started promises one line for a teacher_ckpt problem (an
    extending journey)."""
    import torch
    ckpt = tmp_path / 'other.pth'
    torch.save(dict(state_dict={'backbone.stem.0.weight': torch.zeros(3)}), ckpt)
    config = tmp_path / 'mine.py'
    config.write_text(tiny_config('configs/dld_plate.py', str(tmp_path / 'data'),
                                  f"model = dict(teacher_ckpt={str(ckpt)!r}, teacher=_tiny, "
                                  "student=_tiny)\ntrain_cfg = dict(max_epochs=1)\n"))
    MMLogger.get_instance(run_name())
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'experiment_name={run_name()}'])
    assert exit_.value.code == 2
    assert f'{ckpt} does not fit `model.teacher` (' in _one_line(capsys, 'train.py')


def test_a_checkpoint_that_cannot_be_written_ends_training_in_one_line(
        train_tool, tiny_teacher_config, run_name, tmp_path, capsys, monkeypatch):
    """A file size limit or a quota met while saving was a bare
    '[Errno 27] File too large' traceback naming no file."""
    import errno
    import os

    def too_large(fd):
        raise OSError(errno.EFBIG, 'File too large')
    monkeypatch.setattr(os, 'fsync', too_large)
    MMLogger.get_instance(run_name())  # a logger on an open stream (see above)
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'experiment_name={run_name()}',
                         'train_cfg.max_epochs=1'])
    assert exit_.value.code == 1
    line = _one_line(capsys, 'train.py')
    assert line.startswith(f"train.py: Cannot write {tmp_path / 'w' / 'epoch_1.pth'} (")
    assert line.endswith('MiB): File too large; none of it is left, and the files written '
                         'before it are whole; no checkpoint was saved yet.')
    assert not [n for n in os.listdir(tmp_path / 'w') if n.endswith('.pth')]


def test_a_run_in_the_work_dir_of_a_running_one_stops_before_writing_there(
        train_tool, tiny_teacher_config, run_name, tmp_path, capsys):
    """The lock was taken once training started: the runner had already
    written its config over the running run's (a review)."""
    import os

    from work_dir_holder import held_by_another_process
    work = tmp_path / 'w'
    with held_by_another_process(work) as pid:
        before = sorted(os.listdir(work))
        with pytest.raises(SystemExit) as exit_:
            train_tool.main([tiny_teacher_config, '--work-dir', str(work),
                             '--cfg-options', f'experiment_name={run_name()}'])
        assert exit_.value.code == 2
        assert _one_line(capsys, 'train.py').startswith(
            f'train.py: {work} is the work dir of a training run still running (pid {pid} on ')
        assert sorted(os.listdir(work)) == before  # no config, no log folder written


def test_a_part_left_without_a_type_is_one_line_saying_why(tiny_teacher_config, train_tool,
                                                           tmp_path, capsys):
    """MMEngine's words named no cause and ended in a line of a bare 'None'
    (an extending journey: `_delete_=True` drops the base's type too)."""
    config = tmp_path / 'mine.py'
    config.write_text(f'_base_ = [{tiny_teacher_config!r}]\n'
                      'model = dict(backbone=dict(_delete_=True, in_channels=3))\n')
    with pytest.raises(SystemExit) as exit_:
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    line = _one_line(capsys, 'train.py')
    assert "a part of the config has no `type`: {'in_channels': 3}; `_delete_=True` drops the " \
        'type of the base it replaces too (give it again)' in line
    assert 'None (' not in line


def test_train_py_refuses_a_pretrained_file_that_is_not_there_before_its_setup_text(
        tiny_teacher_config, tmp_path, capsys):
    """A traceback of some 30 lines once training started, after the
    runner's set-up text (a newcomer's journey)."""
    config = tmp_path / 'pretrained.py'
    config.write_text(f'_base_ = [{tiny_teacher_config!r}]\nmodel = dict(backbone=dict('
                      "init_cfg=dict(type='Pretrained', "
                      "checkpoint='weights/tiny_imagenet.pth')))\n")
    with pytest.raises(SystemExit) as exit_:
        load_script('tools/train.py').main([str(config), '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    assert _one_line(capsys, 'train.py') == (
        "train.py: model.backbone.init_cfg: its Pretrained checkpoint is not there: "
        f"'weights/tiny_imagenet.pth' ({osp.abspath('weights/tiny_imagenet.pth')})")
    assert not (tmp_path / 'w').exists()


def test_a_mistyped_part_is_refused_before_the_synthetic_set_is_rendered(tiny_config, tmp_path,
                                                                        capsys):
    """A model typo was said after some 2 minutes of rendering 7,500 plates
    (292 MB) into the project folder (a newcomer's journey)."""
    config = tmp_path / 'typo.py'
    rest = "model = dict(backbone=dict(type='ResNetPlat'))\n"
    config.write_text(tiny_config('configs/teacher_plate_hr.py', str(tmp_path / 'data'), rest))
    with pytest.raises(SystemExit) as exit_:
        load_script('tools/train.py').main([str(config), '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    assert "Did you mean 'ResNetPlate'?" in capsys.readouterr().err
    assert not (tmp_path / 'data').exists()  # nothing rendered


@pytest.mark.parametrize('model', ['', 'model = None\n'])
@pytest.mark.parametrize('tool, args', [('train', []), ('test', ['w.pth'])])
def test_a_config_without_a_model_is_said_in_one_line(tmp_path, capsys, monkeypatch, tool, args,
                                                      model):
    """train.py said 'the config cannot be built: model (KeyError at
    dld/engine/launch.py:756 ...)', and test.py printed a traceback
    (AttributeError) for `model = None`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'c.py').write_text('x = 1\n' + model)
    (tmp_path / 'w.pth').write_bytes(b'')
    with pytest.raises(SystemExit) as exit_:
        load_script(f'tools/{tool}.py').main(['c.py', *args, '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    assert _one_line(capsys, f'{tool}.py').startswith(f'{tool}.py: c.py sets no `model`')
