"""The FLOPs/accuracy report refuses what it cannot read, and says why; it
finds the teacher where the config names it. Untrained tiny models and a
two-plate test set written here: no training run needed."""
import signal
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from plate_files import write_png
from tiny_dld import dld_config, recognizer_cfg

from dld.apis.flops_accuracy import CachedTestSet, FlopsAccuracyEvaluator
from dld.registry import MODELS


def _save(state: dict, path) -> str:
    torch.save(dict(state_dict=state, meta={}), str(path))
    return str(path)


@pytest.fixture(scope='module')
def untrained(tmp_path_factory):
    """Two LR/HR plates, a random teacher and a random DLD checkpoint that
    holds no teacher weights (as ``tools/extract_student.py`` ships it)."""
    root = tmp_path_factory.mktemp('untrained_dld')
    data = root / 'data'
    lines = []
    for t, text in enumerate(['ABC1234', 'XYZ9A87']):
        write_png(str(data / f't{t}/lr-0.png'), 20, 60, value=60 + 40 * t)
        write_png(str(data / f't{t}/hr-0.png'), 40, 120, value=60 + 40 * t)
        lines.append(f't{t}/lr-0.png|t{t}/hr-0.png\t{text}')
    (data / 'test.txt').write_text('\n'.join(lines) + '\n')
    with DefaultScope.overwrite_default_scope('dld'):
        torch.manual_seed(1)
        teacher = MODELS.build(recognizer_cfg(16))
        torch.manual_seed(2)
        narrow = MODELS.build(recognizer_cfg(8))
        torch.manual_seed(0)
        dld = MODELS.build(dld_config(str(data))['model'])
    return dict(
        data=str(data),
        teacher=_save(teacher.state_dict(), root / 'teacher.pth'),
        narrow_teacher=_save(narrow.state_dict(), root / 'narrow_teacher.pth'),
        student=_save({k: v for k, v in dld.state_dict().items()
                       if not k.startswith('teacher.')}, root / 'student.pth'),
        teacher_state={k: v.clone() for k, v in teacher.state_dict().items()},
        root=root)


def _config(untrained, name='dld.py', **model) -> str:
    cfg = dld_config(untrained['data'])
    cfg['model'].update(model)
    path = str(untrained['root'] / name)
    Config(cfg).dump(path)
    return path


def test_an_empty_test_set_is_refused_naming_its_label_file(untrained):
    # A label file that reads, but a set that keeps none of its images
    # (indices=0, unserialized: serialized, the set itself refuses it).
    cfg = Config(dld_config(untrained['data']))
    cfg.test_dataloader.dataset.update(indices=0, serialize_data=False)
    with pytest.raises(ValueError, match=r"The test set has no images \(PairedPlateDataset, "
                                         r"ann_file='.*test\.txt'\): nothing to evaluate"):
        CachedTestSet(cfg, with_hr=False)


def test_a_recognizer_config_is_refused_naming_its_model_type(untrained, tmp_path):
    config = str(tmp_path / 'recognizer.py')
    Config(dict(default_scope='dld', model=recognizer_cfg(16))).dump(config)
    with pytest.raises(TypeError, match=r'needs a DLD config \(model.type=DLDDistiller\); '
                                        r'got TextRecognizer'):
        FlopsAccuracyEvaluator(config, untrained['teacher'], device='cpu')


def test_the_teacher_is_taken_from_the_configs_teacher_ckpt_when_the_checkpoint_has_none(
        untrained):
    config = _config(untrained, 'dld_with_teacher.py', teacher_ckpt=untrained['teacher'])
    evaluator = FlopsAccuracyEvaluator(config, untrained['student'], scales=[1.0],
                                       device='cpu', max_batches=1)
    assert evaluator.has_teacher and evaluator.data.with_hr
    assert evaluator.paths['teacher_checkpoint'] == untrained['teacher']
    teacher = evaluator.model.teacher.state_dict()
    for key, value in untrained['teacher_state'].items():
        assert torch.equal(teacher[key], value), key


def test_a_configs_teacher_ckpt_that_is_no_file_skips_the_teacher_rows_with_a_note(
        untrained):
    config = _config(untrained, 'dld_gone_teacher.py',
                     teacher_ckpt=str(untrained['root'] / 'gone.pth'))
    evaluator = FlopsAccuracyEvaluator(config, untrained['student'], scales=[1.0],
                                       device='cpu', max_batches=1)
    assert not evaluator.has_teacher
    gone = str(untrained['root'] / 'gone.pth')
    assert any(f"model.teacher_ckpt ({gone!r}) names no checkpoint found from" in n
               for n in evaluator.notes)


def test_a_teacher_checkpoint_of_other_shapes_is_named(untrained):
    with pytest.raises(RuntimeError, match=r"(?s)narrow_teacher\.pth does not fit the config's "
                                           r'teacher: .*size mismatch') as info:
        FlopsAccuracyEvaluator(_config(untrained), untrained['student'],
                               teacher_checkpoint=untrained['narrow_teacher'], device='cpu')
    # torch's first lines, not one for each weight of the teacher
    assert len(str(info.value).splitlines()) <= 5


def test_a_teacher_checkpoint_lacking_weights_is_named_with_the_count(untrained, tmp_path):
    state = dict(untrained['teacher_state'])
    dropped = sorted(k for k in state if k.startswith('decoder.'))
    for key in dropped:
        del state[key]
    partial = _save(state, tmp_path / 'partial_teacher.pth')
    with pytest.raises(RuntimeError, match=rf"partial_teacher\.pth does not hold the config's "
                                           rf'teacher: {len(dropped)} missing weight\(s\)'):
        FlopsAccuracyEvaluator(_config(untrained), untrained['student'],
                               teacher_checkpoint=partial, device='cpu')


def test_read_fixed_names_the_students_it_can_read():
    with pytest.raises(ValueError, match=r"which must be 'dld' or 'nokd', got 'teacher'"):
        FlopsAccuracyEvaluator.read_fixed(SimpleNamespace(baseline=None), 'teacher', 1.0)


def test_read_fixed_of_the_no_kd_student_needs_a_baseline_checkpoint():
    with pytest.raises(ValueError, match='no no-KD student: pass baseline_checkpoint'):
        FlopsAccuracyEvaluator.read_fixed(SimpleNamespace(baseline=None), 'nokd', 1.0)


def test_the_cli_refuses_a_checkpoint_of_other_scales_in_one_line(untrained, tmp_path, capsys):
    # CheckpointMismatchError (a RuntimeError) ended the report in a traceback
    from repo_scripts import load_script
    from tiny_dld import SCALES
    state = torch.load(untrained['student'], weights_only=True)['state_dict']
    trained = Config(dld_config(untrained['data']))
    trained.model.scales = list(SCALES)[::-1]
    ckpt = tmp_path / 'other_scales.pth'
    torch.save(dict(state_dict=state, meta=dict(cfg=trained.pretty_text)), str(ckpt))
    config = _config(untrained, teacher_ckpt=untrained['teacher'])
    main = load_script('tools/flops_accuracy.py').main
    assert main([config, str(ckpt), '--out', str(tmp_path / 'report'), '--device', 'cpu']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('flops_accuracy.py: cannot load the models: ')
    assert 'was trained with model.scales=' in err[-1]


class _LoaderWhoseWorkerDied:
    """A loader whose persistent worker (pid 7) ended with ``exitcode`` while
    its batch was awaited: PyTorch's "exited unexpectedly"."""

    def __init__(self, exitcode: int) -> None:
        worker = SimpleNamespace(pid=7, exitcode=exitcode)
        self._iterator = SimpleNamespace(_workers=[worker])

    def __iter__(self):
        yield dict(data_samples=[1])
        raise RuntimeError('DataLoader worker (pid(s) 7) exited unexpectedly')


def test_test_set_workers_killed_by_a_group_sigterm_are_a_stop_not_a_missing_hr_set():
    """Reading HR frames takes any error for a set without them: the workers'
    death was a 'teacher on HR skipped' note, then the LR set's traceback."""
    with pytest.raises(KeyboardInterrupt, match='SIGTERM'):
        CachedTestSet._take(_LoaderWhoseWorkerDied(-signal.SIGTERM), None)
    with pytest.raises(RuntimeError, match='exited unexpectedly'):  # killed for memory, say
        CachedTestSet._take(_LoaderWhoseWorkerDied(-signal.SIGKILL), None)


def test_a_missing_checkpoint_is_refused_before_the_synthetic_test_set_is_made(tmp_path):
    """A fresh clone has no synthetic set: the report generated it (minutes
    on the full config) and only then said the checkpoint was not there."""
    from dld.apis.model_loading import load_config
    root = tmp_path / 'synth'
    cfg = load_config('configs/quickstart/dld.py', {
        'synth_plates.data_root': str(root), 'synth_plates.tracks': 4,
        'test_dataloader.dataset.data_root': str(root)})
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        FlopsAccuracyEvaluator(cfg, str(tmp_path / 'nope.pth'))
    assert not root.exists()


def test_amp_where_float32_is_used_says_so_in_the_report(untrained, monkeypatch):
    """--amp on a CPU without native bfloat16 reads in float32: a warning
    scrolled by, and report.md said nothing."""
    from dld.apis.report_writing import markdown_report
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: False)
    evaluator = FlopsAccuracyEvaluator(_config(untrained), untrained['student'],
                                       teacher_checkpoint=untrained['teacher'], device='cpu',
                                       amp=True)
    report = evaluator.evaluate()
    assert report['precision'] == 'float32'
    assert ('--amp / amp=True asked, but float32 used: mixed precision is no faster on this cpu'
            in markdown_report(report))


@pytest.mark.parametrize('config, trained_on', [
    ('configs/dld_plate_hr.py', 'hr'), ('configs/quickstart/dld_efficiency.py', 'hr'),
    ('configs/teacher_plate_hr.py', 'hr'), ('configs/student_plate_lr.py', 'lr'),
    ('configs/student_plate_lr_online.py', 'lr'), ('configs/dld_plate.py', 'lr')])
def test_the_crops_a_config_s_student_trains_on_are_told(config, trained_on):
    from dld.apis.flops_accuracy import student_training_input
    from dld.apis.model_loading import load_config
    assert student_training_input(load_config(config)) == trained_on


def test_a_baseline_trained_on_other_crops_than_the_dld_student_is_noted():
    """An LR-trained no-KD student in an efficiency report read down-sampled
    HR crops, without a word (an efficiency journey)."""
    from types import SimpleNamespace

    from dld.apis.flops_accuracy import FlopsAccuracyEvaluator
    from dld.apis.model_loading import load_config
    report = SimpleNamespace(cfg=load_config('configs/dld_plate_hr.py'), notes=[])
    FlopsAccuracyEvaluator._note_other_training_input(report, 'configs/student_plate_lr.py')
    assert report.notes == [
        'the baseline (configs/student_plate_lr.py) trained on LR crops, and its rows read the '
        "DLD student's input, the HR crop at each scale: not the setting it was trained for; "
        'give a baseline trained on the same crops']
    report.notes.clear()
    FlopsAccuracyEvaluator._note_other_training_input(report, 'configs/dld_plate_hr.py')
    assert report.notes == []
