"""tools/test.py: evaluates a checkpoint and writes the metrics JSON."""
import json
import os
import os.path as osp
import subprocess
import sys
from collections import defaultdict

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner

from dld.apis.model_loading import init_model
from dld.evaluation.metrics import plate_scores, vote_track

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from tiny_dld import TRAINED_WIDTH, make_tiny_run, recognizer_cfg  # noqa: E402


class NotAllowed:
    """Stands for any class a checkpoint should not make us import."""


@pytest.fixture(scope='module')
def trained(tiny_teacher_config, train_tool, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('trained')
    train_tool.main([tiny_teacher_config, '--work-dir', str(work_dir), '--cfg-options',
                     'train_cfg.max_epochs=1', 'experiment_name=trained-for-test'])
    return work_dir / 'epoch_1.pth'


@pytest.mark.slow
def test_writes_the_metrics_it_computed(tiny_teacher_config, test_tool, trained, run_name,
                                        tmp_path, monkeypatch):
    from dld.engine.hooks import start_checkpoint_check_hook as start_check
    said = []
    monkeypatch.setattr(start_check, 'print_log', lambda msg, **kw: said.append(msg))
    hook_run = start_check.StartCheckpointCheckHook.before_run
    monkeypatch.setattr(start_check.StartCheckpointCheckHook, 'before_run',
                        lambda self, runner: (said.append('before_run'), hook_run(self, runner)))
    out = tmp_path / 'sub' / 'metrics.json'
    metrics = test_tool.main([tiny_teacher_config, str(trained), '--work-dir', str(tmp_path),
                              '--out', str(out), '--cfg-options',
                              f'experiment_name={run_name()}'])
    written = json.loads(out.read_text())
    assert written == metrics
    # the run's JSON log keeps the counts (MMEngine's wrote them as null)
    [logged] = [json.loads(line) for path in tmp_path.rglob('*.json') if path != out
                for line in path.read_text().splitlines() if '"plate/num_samples"' in line]
    assert logged['plate/num_samples'] == 4 and logged['track/num_tracks'] == 2
    # what the figures are of, and made how (the file held the metrics only)
    assert written['run']['checkpoint'] == os.path.abspath(trained)
    assert written['run']['config'] == os.path.abspath(tiny_teacher_config)
    assert written['run']['environment']['torch'] == torch.__version__
    assert written['run']['test_ann_file']
    [source] = written['run']['test_sets']  # one set: the one named above
    assert source['ann_file'] == written['run']['test_ann_file']
    # The tiny test split: 2 tracks x 2 frames.
    assert written['plate/num_samples'] == 4
    assert written['track/num_tracks'] == 2
    assert written['track/num_frames'] == 4
    assert written['plate/accuracy'] == written['plate/num_correct'] / 4
    assert written['track/accuracy'] == written['track/num_correct'] / 2
    # a plain recognizer's readings cost what it costs at its input's size
    # (it reported nothing: a teacher's and a DLD student's cost could not be
    # set side by side)
    from dld.apis.scaled_prediction import RecognizerCosts
    recognizer, _ = init_model(tiny_teacher_config, str(trained), device='cpu')
    hr_size = tuple(Config.fromfile(tiny_teacher_config).test_dataloader.dataset.pipeline[1]
                    ['hr_size'])
    assert written['cost/gflops'] == pytest.approx(
        RecognizerCosts(recognizer, hr_size).gflops_at(1.0), rel=1e-9)
    assert written['cost/gflops'] > 0
    assert written['cost/num_images'] == 4 and written['cost/share_1'] == 1.0
    # nothing said it read the weights as built (load_from is None: test.py
    # loads the checkpoint itself), though the hook that says so ran
    assert said == ['before_run']

    # The same numbers, recomputed here from the model's own predictions.
    cfg = Config.fromfile(tiny_teacher_config)
    cfg.work_dir = str(tmp_path / 'recompute')
    cfg.experiment_name = run_name()
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(str(trained))
    pairs, tracks, track_gt = [], defaultdict(list), {}
    runner.model.eval()
    with torch.no_grad():
        for batch in runner.build_dataloader(cfg.test_dataloader):
            for s in runner.model.test_step(batch):
                pairs.append((s.gt_text, s.pred_text))
                tracks[s.track_id].append((s.frame_idx, s.pred_text, s.pred_score))
                track_gt[s.track_id] = s.gt_text
    expected = plate_scores(pairs)
    for key in ('accuracy', 'char_accuracy', 'one_minus_ned', 'num_samples', 'num_correct'):
        assert written[f'plate/{key}'] == pytest.approx(expected[key]), key
    voted_right = sum(vote_track(frames) == track_gt[t] for t, frames in tracks.items())
    assert written['track/num_correct'] == voted_right


@pytest.mark.slow
def test_refuses_a_checkpoint_with_a_foreign_global(tiny_teacher_config, test_tool, trained,
                                                    run_name, tmp_path, capsys):
    ckpt = torch.load(trained, map_location='cpu', weights_only=True)
    ckpt['meta']['extra'] = NotAllowed()
    bad = tmp_path / 'bad.pth'
    torch.save(ckpt, bad)
    _refused(capsys, f"Refusing to load checkpoint '{bad}': it needs the global "
             '`test_test_tool.NotAllowed`', test_tool.main,
             [tiny_teacher_config, str(bad), '--work-dir', str(tmp_path),
              '--cfg-options', f'experiment_name={run_name()}'])


def _refused(capsys, says: str, main, argv) -> None:
    """``main(argv)`` ends with one line saying ``says`` and exit status 2,
    as infer.py does, not a traceback."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'test.py: cannot load the checkpoint: ' in err and says in err, err


def test_missing_checkpoint_fails_before_building_anything(tiny_teacher_config, test_tool,
                                                           tmp_path, capsys):
    """One line, exit status 2 (it was a FileNotFoundError traceback)."""
    for given, says in ((tmp_path / 'nope.pth', 'nope.pth: no such file'),
                        (tmp_path, 'is a folder; give a checkpoint file in it')):
        with pytest.raises(SystemExit) as info:
            test_tool.main([tiny_teacher_config, str(given)])
        assert info.value.code == 2 and says in capsys.readouterr().err


@pytest.mark.slow
def test_amp_evaluates_under_autocast_where_it_is_faster(tiny_teacher_config, test_tool, trained,
                                                         run_name, tmp_path, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU path')
    monkeypatch.setattr(test_tool, 'resolve_amp', lambda device_type, enabled: torch.bfloat16)
    seen = set()
    conv_forward = torch.nn.Conv2d.forward
    from dld.utils import flop_counter
    counting = []
    run_counted = flop_counter.run_counted

    def flagged_run_counted(*args, **kwargs):
        counting.append(True)
        try:
            return run_counted(*args, **kwargs)
        finally:
            counting.pop()

    def recording_forward(self, x):
        out = conv_forward(self, x)
        # the FLOPs count runs the model once, in float32, where no earlier
        # test of this process counted the same model (a cache)
        if not counting:
            seen.add(out.dtype)
        return out

    monkeypatch.setattr(flop_counter, 'run_counted', flagged_run_counted)

    monkeypatch.setattr(torch.nn.Conv2d, 'forward', recording_forward)
    metrics = test_tool.main([tiny_teacher_config, str(trained), '--work-dir', str(tmp_path),
                              '--amp', '--cfg-options', f'experiment_name={run_name()}'])
    assert seen == {torch.bfloat16}
    assert metrics['plate/num_samples'] == 4


def test_amp_is_left_out_where_float32_is_faster(tiny_teacher_config, test_tool, tmp_path,
                                                 monkeypatch):
    monkeypatch.setattr(test_tool, 'resolve_amp', lambda device_type, enabled: None)
    ckpt = tmp_path / 'any.pth'
    ckpt.write_bytes(b'')
    cfg = test_tool.build_config(test_tool.parse_args([tiny_teacher_config, str(ckpt), '--amp']))
    assert not cfg.test_cfg.get('fp16', False)
    monkeypatch.setattr(test_tool, 'resolve_amp', lambda device_type, enabled: torch.bfloat16)
    cfg = test_tool.build_config(test_tool.parse_args([tiny_teacher_config, str(ckpt), '--amp']))
    assert cfg.test_cfg.fp16 is True and cfg.test_cfg.type == 'TestLoop'


# ---------------------------------------------------------------- DLD configs
@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """A tiny trained DLD run (shared with the report tests of the session)."""
    return make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))


def _dld_test_config(tiny_run, tmp_path, model: str = '', missing_teacher: bool = True) -> str:
    """The tiny DLD config with a test loop; its ``teacher_ckpt`` names a file
    that does not exist (``missing_teacher``) or is None."""
    teacher = str(tmp_path / 'no_teacher.pth') if missing_teacher else None
    path = tmp_path / 'dld_test.py'
    path.write_text(f"_base_ = [{tiny_run['config']!r}]\n"
                    "test_cfg = dict(type='TestLoop')\n"
                    f"model = dict(teacher_ckpt={teacher!r}{model})\n")
    return str(path)


#: test.py reads on the GPU where there is one, _direct_metrics on the CPU:
#: confidences then differ in the sixth digit (seen on an H100), counts not.
ACROSS_DEVICES = dict(rel=1e-4)


def _direct_metrics(config, checkpoint):
    """The selector's metrics, computed here without the runner."""
    model, cfg = init_model(config, checkpoint)
    evaluator = Evaluator(cfg.test_evaluator)
    n = 0
    with torch.no_grad():
        for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
            samples = model.test_step(batch)
            evaluator.process(samples, batch)
            n += len(samples)
    return evaluator.evaluate(n)


def _dld_args(config, ckpt, tmp_path, run_name):
    return [config, ckpt, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
            f'experiment_name={run_name()}']


@pytest.mark.slow
def test_a_recognizer_checkpoint_with_a_dld_config_is_refused(tiny_run, test_tool, run_name,
                                                              tmp_path, capsys):
    # MMEngine's load_from would log "missing keys" and evaluate random weights.
    config = _dld_test_config(tiny_run, tmp_path, missing_teacher=False)
    _refused(capsys, f"{tiny_run['teacher']} lacks 96 weight(s) the student/selector need",
             test_tool.main, _dld_args(config, tiny_run['teacher'], tmp_path, run_name))


@pytest.mark.slow
def test_an_unreadable_checkpoint_is_named(tiny_run, test_tool, run_name, tmp_path, capsys):
    bad = tmp_path / 'cut.pth'
    bad.write_bytes(open(tiny_run['full'], 'rb').read()[:4000])
    _refused(capsys, f"Cannot read checkpoint '{bad}' (4000 bytes)", test_tool.main,
             _dld_args(_dld_test_config(tiny_run, tmp_path, missing_teacher=False), str(bad),
                       tmp_path, run_name))


@pytest.mark.slow
def test_a_config_without_a_test_loop_is_evaluated_in_mmengines_own(tiny_run, test_tool,
                                                                    run_name, tmp_path):
    """As infer.py and the reports read it; MMEngine refused it with its
    loader's whole dict."""
    assert 'test_cfg' not in open(tiny_run['config']).read()
    metrics = test_tool.main(_dld_args(tiny_run['config'], tiny_run['student'], tmp_path,
                                       run_name))
    expected = _direct_metrics(tiny_run['config'], tiny_run['student'])
    assert metrics == pytest.approx(expected, **ACROSS_DEVICES)


def test_a_config_without_a_test_evaluator_is_one_line(tiny_run, test_tool, tmp_path,
                                                       capsys):
    config = tmp_path / 'no_evaluator.py'
    config.write_text(f"_base_ = [{tiny_run['config']!r}]\ntest_evaluator = None\n")
    with pytest.raises(SystemExit) as exit_:
        test_tool.main([str(config), tiny_run['student']])
    assert exit_.value.code == 2
    assert ("test.py: the config sets no test_evaluator: test.py evaluates the config's test "
            'set with its evaluator') in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize('trained, warned', [((48, 144), True), ((32, 96), False)])
def test_a_recognizer_tested_at_another_size_than_it_trained_at_is_warned_of(
        tiny_run, test_tool, run_name, tmp_path, monkeypatch, trained, warned):
    """Said as PlateRecognizer says it: test.py scored it at the other size
    without a word (its weights fit any size)."""
    from dld.utils import trained_input_size
    said = []
    monkeypatch.setattr(trained_input_size, 'print_log', lambda msg, **kw: said.append(msg))
    cfg = Config.fromfile(tiny_run['baseline_config'])
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'ResizePair':
            step.update(lr_size=(32, 96), hr_size=(32, 96))
    config = str(tmp_path / 'baseline_32x96.py')
    cfg.dump(config)
    ckpt = torch.load(tiny_run['baseline'], weights_only=True)
    ckpt['meta'] = dict(ckpt['meta'], input_size=list(trained))
    path = str(tmp_path / 'baseline.pth')
    torch.save(ckpt, path)
    test_tool.main(_dld_args(config, path, tmp_path, run_name))
    assert said == ([f'{path}: the model was trained on inputs of 48x144, here it reads 32x96: '
                     'a recognizer reads best at the size it was trained at, and its weights '
                     "fit any size without an error. Set the test pipeline's ResizePair "
                     "lr_size to the size it was trained at (its training pipeline's)."]
                    if warned else [])


@pytest.mark.slow
@pytest.mark.parametrize('ckpt', ['full', 'student'])
def test_a_dld_checkpoint_is_evaluated_without_its_teacher_file(tiny_run, test_tool, run_name,
                                                                tmp_path, ckpt):
    config = _dld_test_config(tiny_run, tmp_path)
    metrics = test_tool.main(_dld_args(config, tiny_run[ckpt], tmp_path, run_name))
    # The checkpoint's weights, not random ones the runner loaded over them.
    expected = _direct_metrics(tiny_run['config'], tiny_run[ckpt])
    assert metrics == pytest.approx(expected, **ACROSS_DEVICES)


@pytest.mark.slow
def test_max_batches_evaluates_the_first_batches_and_says_so(tiny_run, test_tool, run_name,
                                                             tmp_path):
    config = _dld_test_config(tiny_run, tmp_path)
    out = tmp_path / 'metrics.json'
    metrics = test_tool.main(_dld_args(config, tiny_run['student'], tmp_path, run_name) + [
        'test_dataloader.batch_size=4', '--max-batches', '2', '--out', str(out)])
    assert metrics['plate/num_samples'] == 8 and metrics['max_batches'] == 2
    assert json.loads(out.read_text())['max_batches'] == 2
    # more batches than the set holds: read whole, and not said to be a part
    # (it warned of "the first 400 test image(s) only" for 12)
    metrics = test_tool.main(_dld_args(config, tiny_run['student'], tmp_path, run_name) + [
        'test_dataloader.batch_size=4', '--max-batches', '100', '--out', str(out)])
    assert metrics['plate/num_samples'] == 12 and 'max_batches' not in metrics


@pytest.mark.slow
def test_lines_skipped_with_strict_false_are_counted_beside_the_metrics(
        tiny_teacher_config, test_tool, trained, run_name, tmp_path):
    data = Config.fromfile(tiny_teacher_config).test_dataloader.dataset.data_root
    labels = tmp_path / 'test_with_a_bad_line.txt'
    with open(osp.join(data, 'test.txt')) as f:
        labels.write_text(f.read() + 'a/lr-1.png|a/hr-1.png    AB12\n')  # no TAB
    out = tmp_path / 'metrics.json'
    metrics = test_tool.main([tiny_teacher_config, str(trained), '--work-dir', str(tmp_path),
                              '--out', str(out), '--cfg-options', f'experiment_name={run_name()}',
                              f'test_dataloader.dataset.ann_file={labels}',
                              'test_dataloader.dataset.strict=False'])
    assert metrics['plate/num_samples'] == 4  # the tiny test split's frames, scored
    assert metrics['skipped_annotations'] == 1 and 'skipped_images' not in metrics
    assert json.loads(out.read_text())['skipped_annotations'] == 1


def test_max_batches_needs_a_plain_test_set_without_indices(test_tool):
    from mmengine.config import Config

    from dld.engine.runner_settings import ConfigSettingError
    concat = Config(dict(test_dataloader=dict(batch_size=4, dataset=dict(
        type='ConcatDataset', datasets=[dict(type='PairedPlateDataset')]))))
    with pytest.raises(ConfigSettingError, match='a ConcatDataset of other sets'):
        test_tool._first_batches_only(concat, 2)
    subset = Config(dict(test_dataloader=dict(batch_size=4, dataset=dict(
        type='PairedPlateDataset', indices=10))))
    with pytest.raises(ConfigSettingError, match='already sets test_dataloader.dataset.indices'):
        test_tool._first_batches_only(subset, 2)


@pytest.mark.slow
def test_a_born_again_config_is_evaluated_without_its_teacher_file(tiny_run, test_tool,
                                                                   run_name, tmp_path):
    # The teacher is a student (teacher_from='student'), built like one; the
    # extracted checkpoint holds no teacher weights, and evaluation needs none.
    teacher = recognizer_cfg(TRAINED_WIDTH)
    config = _dld_test_config(
        tiny_run, tmp_path, f", teacher_from='student', teacher=dict(_delete_=True, **{teacher!r})")
    metrics = test_tool.main(_dld_args(config, tiny_run['student'], tmp_path, run_name))
    assert metrics == pytest.approx(_direct_metrics(tiny_run['config'], tiny_run['student']),
                                    **ACROSS_DEVICES)


@pytest.mark.slow
def test_torchrun_two_processes_load_the_checkpoint_strictly(tiny_run, tmp_path, free_port):
    def torchrun(ckpt, out, *extra):
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
               '--master-addr', '127.0.0.1', '--master-port', str(free_port()),
               osp.join(REPO, 'tools', 'test.py'), _dld_test_config(tiny_run, tmp_path), ckpt,
               '--launcher', 'pytorch', '--work-dir', str(tmp_path / 'work'), '--out', out,
               *extra]
        env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
        return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=300)

    out = str(tmp_path / 'metrics.json')
    drawn = tmp_path / 'drawn'
    proc = torchrun(tiny_run['student'], out, '--show-dir', str(drawn))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # both processes' drawings counted; neither took the other's for earlier ones
    said = proc.stdout + proc.stderr
    assert f'Drew 12 image(s) with their readings in {drawn}' in said
    assert 'drawing(s) already' not in said and len(os.listdir(drawn)) == 12
    # 11 images over 2 processes: the sampler gives one twice, counted once
    proc = torchrun(tiny_run['student'], str(tmp_path / 'eleven.json'), '--show-dir',
                    str(tmp_path / 'eleven'), '--cfg-options', 'test_dataloader.dataset.indices=11')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"Drew 11 image(s) with their readings in {tmp_path / 'eleven'}" in \
        proc.stdout + proc.stderr
    # and drawn once: the repeat was a second file of the first image (-1)
    assert len(os.listdir(tmp_path / 'eleven')) == 11
    expected = _direct_metrics(tiny_run['config'], tiny_run['student'])
    assert json.loads(open(out).read())['plate/accuracy'] == \
        pytest.approx(expected['plate/accuracy'])
    proc = torchrun(tiny_run['teacher'], str(tmp_path / 'never.json'))
    assert proc.returncode != 0  # torchrun says 1 for a child's 2
    assert 'lacks 96 weight(s) the student/selector need' in proc.stderr


def test_metrics_without_a_finite_value_are_written_as_json_null(test_tool):
    import json

    import numpy as np
    import torch
    out = test_tool.to_jsonable({'a': float('nan'), 'b': np.float32(0.5), 'c': torch.tensor(2.0),
                                 'd': float('inf'), 'e': 3})
    assert out == {'a': None, 'b': 0.5, 'c': 2.0, 'd': None, 'e': 3}
    json.dumps(out, allow_nan=False)  # valid JSON


@pytest.mark.slow
def test_dumps_and_draws_each_test_image_s_reading(tiny_run, test_tool, run_name, tmp_path):
    import pickle
    config = _dld_test_config(tiny_run, tmp_path)
    dump, shown, misread = tmp_path / 'preds.pkl', tmp_path / 'all', tmp_path / 'wrong'
    metrics = test_tool.main([
        config, tiny_run['student'], '--work-dir', str(tmp_path / 'work'), '--dump', str(dump),
        '--show-dir', str(shown), '--cfg-options', f'experiment_name={run_name()}'])
    samples = pickle.load(open(dump, 'rb'))
    assert len(samples) == metrics['plate/num_samples']
    assert sum(s['pred_text'].upper() == s['gt_text'].upper()
               for s in samples) == metrics['plate/num_correct']
    assert all({'pred_scale', 'pred_score', 'track_id', 'frame_idx'} <= s.keys() for s in samples)
    assert sorted(os.listdir(shown)) == sorted(
        f"{s['sample_idx']:06d}_{s['track_id'].replace('/', '_')}_frame_{s['frame_idx']}.png"
        for s in samples)
    # only the misread ones, named as among all the drawings
    test_tool.main([
        config, tiny_run['student'], '--work-dir', str(tmp_path / 'work'), '--show-dir',
        str(misread), '--show-misread', '--cfg-options', f'experiment_name={run_name()}'])
    wrong = {f"{s['sample_idx']:06d}" for s in samples
             if s['pred_text'].upper() != s['gt_text'].upper()}
    assert {name[:6] for name in os.listdir(misread)} == wrong


@pytest.mark.parametrize('args, says', [
    (['--out', 'preds.pkl'], 'takes a .json file'),
    (['--dump', 'preds.json'], 'takes a .pkl'),
    (['--show-misread'], 'give --show-dir'),
    (['--out', '/proc/nope/m.json'], 'cannot create /proc/nope'),  # not after the test set
    (['--dump', '/proc/nope/p.pkl'], 'cannot create /proc/nope'),
    (['--show-dir', __file__], 'is a file; give a folder'),
    (['--max-batches', '0'], '--max-batches must be >= 1'),
])
def test_output_options_are_checked_before_anything_loads(test_tool, args, says, capsys):
    with pytest.raises(SystemExit):
        test_tool.parse_args(['cfg.py', 'ckpt.pth'] + args)
    assert says in capsys.readouterr().err


def test_a_test_set_that_cannot_be_built_is_one_line(tiny_teacher_config, test_tool, trained,
                                                     run_name, tmp_path, capsys):
    """MMEngine builds the set inside runner.test(): a label file not there
    was a traceback of hundreds of lines."""
    with pytest.raises(SystemExit) as exit_:
        test_tool.main([tiny_teacher_config, str(trained), '--work-dir', str(tmp_path),
                        '--cfg-options', f'experiment_name={run_name()}',
                        'test_dataloader.dataset.ann_file=nope.txt'])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    [line] = [x for x in err.splitlines() if x.startswith('test.py: ')]
    assert line.startswith("test.py: Label file not found: '") and \
        "nope.txt' (ann_file, read below data_root=" in line


def test_ctrl_c_or_sigterm_ends_the_test_in_one_line_writing_nothing(
        tiny_teacher_config, test_tool, trained, run_name, tmp_path, capsys, monkeypatch):
    """It was a traceback (Ctrl-C) or a silent death (SIGTERM)."""
    import os
    import signal

    from mmengine.runner import Runner

    def stopped(self):
        os.kill(os.getpid(), signal.SIGTERM)
    monkeypatch.setattr(Runner, 'test', stopped)
    out = tmp_path / 'metrics.json'
    with pytest.raises(SystemExit) as exit_:
        test_tool.main([tiny_teacher_config, str(trained), '--work-dir', str(tmp_path),
                        '--out', str(out), '--cfg-options', f'experiment_name={run_name()}'])
    assert exit_.value.code == 143 and not out.exists()
    err = capsys.readouterr().err
    assert 'test.py: stopped by SIGTERM: no metrics written' in err and 'Traceback' not in err


class _SigtermToTestWorkers:
    """A SIGTERM to the process group as the test loader's workers see it
    (sent by another process, ``kill -- -PGID``), before batch ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == self.at:
            workers = runner.test_loop.dataloader._iterator._workers
            subprocess.run(['kill', '-TERM', *(str(w.pid) for w in workers)], check=True)
            for w in workers:
                w.join(10)


def test_test_loader_workers_killed_by_a_group_sigterm_are_a_sigterm_stop(
        tiny_teacher_config, test_tool, trained, run_name, tmp_path, capsys):
    """PyTorch reports their death as a RuntimeError ("exited unexpectedly"
    where the test waited for their batch: the exit code tells): it was a
    traceback."""
    from mmengine.hooks import Hook

    from dld.registry import HOOKS
    HOOKS.register_module('SigtermToTestWorkersHook', module=type(
        'SigtermToTestWorkersHook', (_SigtermToTestWorkers, Hook), {}), force=True)
    config = tmp_path / 'workers_killed.py'
    config.write_text(f"_base_ = [{tiny_teacher_config!r}]\n"
                      "test_dataloader = dict(num_workers=1, batch_size=1, prefetch_factor=1, "
                      "persistent_workers=True)\n"
                      "custom_hooks = [dict(type='SigtermToTestWorkersHook', at=0)]\n")
    out = tmp_path / 'metrics.json'
    with pytest.raises(SystemExit) as exit_:
        # a work dir of its own: the config's folder is refused (its dump would replace it)
        test_tool.main([str(config), str(trained), '--work-dir', str(tmp_path / 'work'),
                        '--out', str(out), '--cfg-options', f'experiment_name={run_name()}'])
    assert exit_.value.code == 143 and not out.exists()
    err = capsys.readouterr().err
    assert 'test.py: stopped by SIGTERM: no metrics written' in err and 'Traceback' not in err



def test_a_checkpoint_that_cannot_be_loaded_is_refused_before_the_test_set_is_made(
        test_tool, run_name, tmp_path, capsys):
    """A checkpoint of other scales was refused after the synthetic test set
    (1500 tracks) had been rendered (a newcomer's journey)."""
    root = tmp_path / 'synth'
    bad = tmp_path / 'cut.pth'
    bad.write_bytes(b'PK\x03\x04 not a checkpoint')
    with pytest.raises(SystemExit) as info:
        test_tool.main(['configs/quickstart/dld.py', str(bad), '--work-dir', str(tmp_path / 'w'),
                        '--cfg-options', f'experiment_name={run_name()}',
                        f'synth_plates.data_root={root}', 'synth_plates.tracks=4',
                        f'test_dataloader.dataset.data_root={root}'])
    assert info.value.code == 2
    assert 'test.py: cannot load the checkpoint' in capsys.readouterr().err
    assert not root.exists()


def test_a_file_the_disk_refuses_is_one_line_naming_it(load_tool, capsys):
    """--out, --dump or a drawing on a full disk: a traceback ending in
    'OSError: [Errno 28] No space left on device', no file named."""
    import errno
    tool = load_tool('test')
    with pytest.raises(SystemExit) as exit_:
        with tool.unwritten_file_exits('; the metrics are in the log above'):
            raise OSError(errno.ENOSPC, 'No space left on device', '/data/m.json')
    assert exit_.value.code == 1
    assert capsys.readouterr().err.endswith(
        'test.py: cannot write /data/m.json: No space left on device; the metrics are in the '
        'log above\n')
    with pytest.raises(OSError):  # not a disk's refusal: its traceback says where
        with tool.unwritten_file_exits(''):
            raise OSError(errno.EINVAL, 'Invalid argument', '/data/m.json')
