"""data_errors_exit: our data errors end a tool in their own words, also
when a loader worker raised them (PyTorch raises them again as a
RuntimeError holding the worker's traceback); other errors pass through."""
import re

import pytest
from torch._utils import ExceptionWrapper

from dld.datasets.errors import ImageLoadError, PlateAnnotationError, RetryExhaustedError
from dld.engine.launch import build_errors_exit, data_error_message, data_errors_exit


def _through_worker(raise_it):
    try:
        raise_it()
    except Exception:  # noqa: BLE001 - what a worker catches
        wrapped = ExceptionWrapper(where='in DataLoader worker process 0')
    with pytest.raises(Exception) as info:
        wrapped.reraise()
    return info.value


def _raise(err):
    def raise_it():
        raise err
    return raise_it


class _Gone(ImageLoadError):
    """A project's own kind of image error."""


def _chained():
    try:
        raise KeyError('frame')
    except KeyError as err:
        raise ImageLoadError('/c.png', 'missing') from err


@pytest.mark.parametrize('raise_it, message', [
    (_raise(ImageLoadError('/a.png', 'cannot decode image in item 3 (test.txt:4)')),
     'cannot decode image in item 3 (test.txt:4): /a.png'),
    (_raise(RetryExhaustedError('every retry failed:\n  item 1: x\n  item 2: y')),
     'every retry failed:\n  item 1: x\n  item 2: y'),
    (_raise(PlateAnnotationError('t.txt:3', 'bad\nsecond line')), 't.txt:3: bad\nsecond line'),
    (_raise(_Gone('/b.png', 'gone')), 'gone: /b.png'),
    (_chained, 'missing: /c.png'),
], ids=['image', 'multi-line retry', 'multi-line annotation', 'subclass', 'chained'])
def test_a_data_error_from_a_worker_keeps_its_whole_message(raise_it, message):
    assert data_error_message(_through_worker(raise_it)) == message


def test_other_errors_pass_through(capsys):
    assert data_error_message(_through_worker(_raise(ValueError('x')))) is None
    assert data_error_message(RuntimeError('boom')) is None
    with pytest.raises(RuntimeError, match='boom'), data_errors_exit('test.py'):
        raise RuntimeError('boom')
    with pytest.raises(SystemExit) as info, data_errors_exit('test.py'):
        raise PlateAnnotationError('t.txt:3', 'empty label')
    assert info.value.code == 2
    assert capsys.readouterr().err == 'test.py: t.txt:3: empty label\n'


@pytest.mark.parametrize('error, says', [
    (ValueError('beta must be a finite number >= 0, got -3'),
     'beta must be a finite number >= 0, got -3 (ValueError at '),
    (KeyError('DLDDistiller.test_cfg: unknown key(s)'),  # not quoted as str(KeyError) is
     'DLDDistiller.test_cfg: unknown key(s) (KeyError at '),
    (FileNotFoundError('Teacher checkpoint not found: x.pth'),
     'Teacher checkpoint not found: x.pth (FileNotFoundError at ')])
def test_a_setting_refused_while_the_runner_is_built_is_one_line(error, says, capsys,
                                                                  monkeypatch):
    """It was a traceback through the package, ending in these words."""
    monkeypatch.delenv('DLD_TRACEBACK', raising=False)
    with pytest.raises(SystemExit) as info, build_errors_exit('train.py'):
        raise error
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f'train.py: the config cannot be built: {says}')
    # where it was raised: here (a bug's line without a rerun)
    assert re.search(r'at (\S*/)?test_data_errors_exit\.py:\d+; DLD_TRACEBACK=1 shows the '
                     r'traceback\)$', err.rstrip()), err
    with pytest.raises(RuntimeError), build_errors_exit('train.py'):
        raise RuntimeError('a bug')  # not a setting: its traceback
    monkeypatch.setenv('DLD_TRACEBACK', '0')  # off, as unset
    with pytest.raises(SystemExit), build_errors_exit('train.py'):
        raise error
    monkeypatch.setenv('DLD_TRACEBACK', '1')
    with pytest.raises(type(error)), build_errors_exit('train.py'):
        raise error


def test_an_error_raised_in_a_library_is_placed_at_the_line_that_called_it(capsys,
                                                                           monkeypatch):
    """MMEngine's registry refusing a type was placed in build_functions.py."""
    from mmengine.registry import Registry
    monkeypatch.delenv('DLD_TRACEBACK', raising=False)
    with pytest.raises(SystemExit), build_errors_exit('train.py'):
        Registry('x').build(dict())  # raises inside mmengine
    err = capsys.readouterr().err
    assert err.startswith('train.py: the config cannot be built: ')
    assert re.search(r'at (\S*/)?test_data_errors_exit\.py:\d+; DLD_TRACEBACK', err), err
    # called from the tool's own line (Runner.from_cfg), that line says nothing
    with pytest.raises(SystemExit), build_errors_exit('test_data_errors_exit.py'):
        Registry('x').build(dict())
    assert capsys.readouterr().err.rstrip().endswith(
        '(KeyError; DLD_TRACEBACK=1 shows the traceback)')


def test_a_dld_teacher_without_hr_frames_is_refused_before_training(tmp_path, capsys):
    """load_hr=False, which an LR-only track's error suggests, built fine
    and then failed in the first step: 'DLD training needs the HR stream'."""
    from types import SimpleNamespace

    from mmengine.dataset import ConcatDataset

    from dld.datasets import PairedPlateDataset
    from dld.datasets.synth import generate_synth_plates
    from dld.engine.launch import check_teacher_gets_hr
    generate_synth_plates(str(tmp_path), seed=0, tracks=2, val_tracks=1, test_tracks=1,
                          frames=1, progress=False)

    def runner(teacher_input, load_hr):
        sets = [PairedPlateDataset(data_root=str(tmp_path), ann_file=f'{split}.txt',
                                   load_hr=hr, pipeline=[dict(type='LoadPlateImages')])
                for split, hr in (('train', True), ('val', load_hr))]
        return SimpleNamespace(model=SimpleNamespace(teacher_input=teacher_input),
                               train_dataloader=SimpleNamespace(dataset=ConcatDataset(sets)))
    check_teacher_gets_hr(runner('hr', True), 'train.py')
    check_teacher_gets_hr(runner('lr', False), 'train.py')  # a born-again LR teacher
    with pytest.raises(SystemExit) as exit_:
        check_teacher_gets_hr(runner('hr', False), 'train.py')
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        'train.py: the DLD teacher reads the HR frames, but the training set '
        f"PairedPlateDataset({tmp_path / 'val.txt'}) gives none (load_hr=False): give the "
        "tracks' HR frames and drop that setting\n")


def test_hr_crops_of_another_size_than_base_size_are_refused_before_training(tmp_path, capsys):
    """The distiller refuses them at the first step, with a traceback."""
    from types import SimpleNamespace

    from dld.datasets import PairedPlateDataset
    from dld.datasets.synth import generate_synth_plates
    from dld.engine.launch import check_teacher_gets_hr
    generate_synth_plates(str(tmp_path), seed=0, tracks=2, val_tracks=1, test_tracks=1,
                          frames=1, progress=False)

    def runner(hr_size):
        pipeline = [dict(type='LoadPlateImages'),
                    dict(type='ResizePair', lr_size=(48, 144), hr_size=hr_size)]
        dataset = PairedPlateDataset(data_root=str(tmp_path), ann_file='train.txt',
                                     pipeline=pipeline)
        return SimpleNamespace(
            model=SimpleNamespace(teacher_input='hr', base_size=(48, 144)),
            train_dataloader=SimpleNamespace(dataset=dataset))
    check_teacher_gets_hr(runner((48, 144)), 'train.py')
    with pytest.raises(SystemExit) as exit_:
        check_teacher_gets_hr(runner((64, 192)), 'train.py')
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(
        "train.py: the training pipeline's ResizePair gives the teacher HR crops of 64x192, "
        'but model.base_size=(48, 144)')


def test_a_validation_set_of_another_size_than_base_size_is_refused_before_training(
        tmp_path, capsys):
    """The distiller refused it at the first validation, after an epoch of
    training (a researcher's journey)."""
    from types import SimpleNamespace

    from dld.datasets import PairedPlateDataset
    from dld.datasets.synth import generate_synth_plates
    from dld.engine.launch import check_inputs_of_base_size
    generate_synth_plates(str(tmp_path), seed=0, tracks=2, val_tracks=1, test_tracks=1,
                          frames=1, progress=False)

    def loop(split, size, stream='lr'):
        resize = dict(type='ResizePair', lr_size=(48, 144), hr_size=(48, 144))
        resize[f'{stream}_size'] = size
        pipeline = [dict(type='LoadPlateImages'), resize,
                    dict(type='PackPlateInputs', main_stream=stream)]
        dataset = PairedPlateDataset(data_root=str(tmp_path), ann_file=f'{split}.txt',
                                     pipeline=pipeline, test_mode=split != 'train')
        return SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset))

    model = SimpleNamespace(teacher_input='hr', base_size=(48, 144))
    good = SimpleNamespace(model=model, train_loop=loop('train', (48, 144)),
                           val_loop=loop('val', (48, 144), 'hr'))
    check_inputs_of_base_size(good, 'train.py', ('train_loop', 'val_loop'))
    bad = SimpleNamespace(model=model, train_loop=good.train_loop,
                          val_loop=loop('val', (32, 96), 'hr'))
    with pytest.raises(SystemExit) as exit_:
        check_inputs_of_base_size(bad, 'train.py', ('train_loop', 'val_loop'))
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "train.py: the validation loop's pipeline (PairedPlateDataset("
        f"{tmp_path / 'val.txt'})) resizes the model's input to 32x96, but "
        'model.base_size=(48, 144), what scale 1.0 means: set that pipeline\'s ResizePair '
        'hr_size=(48, 144)\n')
    plain = SimpleNamespace(model=SimpleNamespace(), val_loop=bad.val_loop)
    check_inputs_of_base_size(plain, 'train.py', ('val_loop', ))  # no distiller: its own


def test_a_tracker_backend_whose_package_is_missing_is_one_line(capsys, monkeypatch):
    """TensorboardVisBackend without tensorboard: some 40 lines ending in
    MMEngine's 'Please run "pip install future tensorboard"' (a tracker journey)."""
    monkeypatch.delenv('DLD_TRACEBACK', raising=False)
    with pytest.raises(SystemExit) as info, build_errors_exit('train.py'):
        raise ImportError('Please run "pip install future tensorboard" to install '
                          'tensorboard to use TensorboardVisBackend.')
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        'train.py: the config cannot be built: Please run "pip install future tensorboard" '
        'to install tensorboard to use TensorboardVisBackend. (ImportError; DLD_TRACEBACK=1 '
        'shows the traceback)\n')


def test_a_mistyped_dataset_or_metric_type_names_the_close_ones(capsys, monkeypatch):
    """A dataset or metric type mistyped in a config, built with the loops,
    got no 'Did you mean' (a hook or model type did), and was placed at a
    line of launch.py (an extension journey)."""
    from types import SimpleNamespace

    from dld.engine.launch import build_data_loops
    from dld.registry import METRICS
    monkeypatch.delenv('DLD_TRACEBACK', raising=False)

    class Runner(SimpleNamespace):
        @property
        def val_loop(self):
            return METRICS.build(dict(type='PlateRecogMetrc'))

    with pytest.raises(SystemExit) as info:
        build_data_loops(Runner(), 'train.py', ('val_loop', ))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('train.py: the validation loop (val_dataloader, val_evaluator, '
                          'val_cfg) cannot be built: PlateRecogMetrc is not in the dld::metric')
    assert "Did you mean 'PlateRecogMetric'" in err
    assert err.rstrip().endswith('(UnknownTypeError; DLD_TRACEBACK=1 shows the traceback)')


def test_a_size_pytorch_refuses_as_a_layer_is_made_is_one_line(capsys, monkeypatch):
    """model.decoder.d_model=-1 was a traceback of some 60 lines through
    MMEngine's registry into torch.nn.Embedding."""
    import torch
    monkeypatch.delenv('DLD_TRACEBACK', raising=False)
    with pytest.raises(SystemExit) as info, build_errors_exit('train.py'):
        torch.nn.Linear(4, -1)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('train.py: the config cannot be built: Trying to create tensor '
                          'with negative dimension -1'), err
    assert len(err.strip().splitlines()) == 1


def test_a_refused_label_line_names_the_check_that_lists_every_one(capsys):
    """A run stops at a set's first bad line (strict), one fix a run: the
    line names check_data.py, run on the tool's config and splits."""
    from argparse import Namespace

    from dld.engine.launch import data_check_command
    args = Namespace(config='my configs/run.py', cfg_options=None)
    check = data_check_command(args, ('train_loop', 'val_loop'))
    assert check.startswith('python ') and check.endswith(
        "tools/analysis/check_data.py 'my configs/run.py' --splits train val lists every "
        'bad line at once')
    with pytest.raises(SystemExit) as info, data_errors_exit('train.py', check):
        raise PlateAnnotationError('/d/train.txt:5', "label 'a!' has character(s) ['!'] ...")
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"train.py: /d/train.txt:5: label 'a!' has character(s) ['!'] ... ({check})")
    with pytest.raises(SystemExit), data_errors_exit('train.py', check):  # no label: unsaid
        raise ImageLoadError('/d/a.png', 'missing')
    assert 'check_data' not in capsys.readouterr().err
    with_options = data_check_command(Namespace(config='c.py', cfg_options={'a': 1}),
                                      ('test_loop', ))
    assert with_options.endswith("--splits test lists every bad line at once; add this "
                                 "run's --cfg-options")
