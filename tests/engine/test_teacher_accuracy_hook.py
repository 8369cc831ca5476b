"""TeacherAccuracyHook: a DLD run reads its teacher's score on the validation
split once, before the first step, and logs it beside the student's, so a
weak teacher, or one of another domain, is known before a day of training."""
import glob
import itertools
import json
import logging
import os.path as osp

import pytest
import torch
from log_records import current_log_records
from mmengine.config import Config
from mmengine.runner import Runner

from dld.engine.hooks import TeacherAccuracyHook
from dld.engine.hooks.teacher_accuracy_hook import INFO_KEY

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEACHER = osp.join(REPO, 'tests', 'fixtures', 'tiny_run', 'teacher.pth')
_ids = itertools.count()


def _recognizer():
    w = 32  # the shipped tiny teacher's (tests/apis/tiny_dld.py)
    return dict(type='TextRecognizer',
                backbone=dict(type='ResNetPlate', widths=(w, w, 2 * w, 2 * w)),
                encoder=dict(type='BiLSTMEncoder', hidden_size=2 * w, num_layers=1,
                             dropout=0.0),
                decoder=dict(type='CTCDecoder', beam_width=4))


@pytest.fixture(scope='module')
def plates(tmp_path_factory):
    """The tiny teacher's own kind of plates (the synthetic generator, seed 0)."""
    from dld.datasets import ensure_synth_plates
    root = str(tmp_path_factory.mktemp('teacher_acc') / 'plates')
    ensure_synth_plates(root, tracks=4, val_tracks=6, test_tracks=1, frames=2, seed=0)
    return root


def _cfg(work_dir, data_root, teacher_ckpt=TEACHER, **hook):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'dld_plate_ctc.py'))
    loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
    cfg.merge_from_dict(dict(
        work_dir=str(work_dir), experiment_name=f'teacher-acc-{next(_ids)}',
        synth_plates=None, log_level='INFO',
        train_dataloader=dict(loader, dataset=dict(data_root=data_root)),
        val_dataloader=dict(loader, dataset=dict(data_root=data_root)),
        test_dataloader=dict(loader, dataset=dict(data_root=data_root)),
        train_cfg=dict(max_epochs=1, val_interval=1),
        param_scheduler=[dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=1)]))
    cfg.model = dict(type='DLDDistiller', teacher=_recognizer(), student=_recognizer(),
                     data_preprocessor=dict(type='PlateDataPreprocessor'),
                     teacher_ckpt=teacher_ckpt, scales=(1.0, 0.6), scale_strategy='sampled',
                     selector=dict(type='ResolutionSelector', channels=(4, 8)),
                     losses=dict(skd=dict(type='SequenceKDLoss'),
                                 selector=dict(type='ResolutionSelectorLoss', gamma=0.2)))
    if hook:
        cfg.default_hooks.teacher_accuracy = dict(type='TeacherAccuracyHook', **hook)
    return cfg


def _scalars(work_dir):
    (path, ) = glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_the_shipped_runtime_reads_the_teacher():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'dld_plate.py'))
    assert cfg.default_hooks.teacher_accuracy.type == 'TeacherAccuracyHook'


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory, plates):
    """One epoch of the tiny DLD run: its work dir, what it logged and the
    teacher's figures it kept (the resume tests start from copies)."""
    work_dir = tmp_path_factory.mktemp('teacher_acc_run') / 'run'
    runner = Runner.from_cfg(_cfg(work_dir, plates))
    with current_log_records() as records:
        runner.train()
    return dict(work_dir=work_dir, said=[(r.levelno, r.getMessage()) for r in records],
                teacher=runner.message_hub.get_info(INFO_KEY))


def _copy_of(run, to):
    """``run``'s work dir copied to ``to``, its last_checkpoint pointing into
    the copy (it holds an absolute path)."""
    import shutil
    shutil.copytree(run['work_dir'], to)
    last = to / 'last_checkpoint'
    last.write_text(last.read_text().replace(str(run['work_dir']), str(to)))
    return to


def test_the_teacher_is_read_once_and_logged_beside_the_student(trained_run):
    teacher = trained_run['teacher']
    # the tiny teacher reads its own kind of plates (95 % of 20 on its HR frames)
    assert teacher['plate/accuracy'] >= 0.5 and teacher['plate/num_samples'] == 12
    assert teacher['gflops'] > 0
    said = [m for _, m in trained_run['said']]
    assert any(m.startswith('The teacher on the validation set (HR frames): plate/accuracy')
               for m in said)
    assert any('student' in m and 'teacher on its HR frames' in m and 'gap' in m for m in said)
    assert not any(level >= logging.WARNING and 'The teacher reads' in m
                   for level, m in trained_run['said'])
    lines = _scalars(trained_run['work_dir'])
    assert lines[0]['teacher/plate/accuracy'] == teacher['plate/accuracy']  # at the start
    val = [line for line in lines if 'plate/accuracy' in line]
    assert val and val[-1]['teacher/plate/accuracy'] == teacher['plate/accuracy']


def _other_domain_teacher(path):
    """A teacher whose own run kept its best at 96 % of its validation plates,
    and that reads none of these (random weights stand for another domain)."""
    from dld.registry import MODELS
    torch.manual_seed(0)
    state = MODELS.build(dict(_recognizer(), data_preprocessor=dict(
        type='PlateDataPreprocessor'))).state_dict()
    torch.save(dict(state_dict=state, meta=dict(),
                    message_hub=dict(runtime_info=dict(
                        best_score=0.96, best_ckpt='best_plate_accuracy_epoch_9.pth'))), path)
    return str(path)


def test_a_teacher_reading_little_here_is_warned_of_with_its_own_score(tmp_path, plates):
    ckpt = _other_domain_teacher(tmp_path / 'other.pth')
    runner = Runner.from_cfg(_cfg(tmp_path / 'run', plates, teacher_ckpt=ckpt))
    with current_log_records() as records:
        runner.train()
    warned = [r.getMessage() for r in records
              if r.levelno >= logging.WARNING and 'The teacher reads' in r.getMessage()]
    assert len(warned) == 1, [r.getMessage() for r in records]
    assert 'read at best 96.0 % of its validation plates' in warned[0]
    assert 'another domain' in warned[0]
    # off with min_accuracy=0 (the hook alone: the same read, before a first step)
    runner = Runner.from_cfg(_cfg(tmp_path / 'run0', plates, teacher_ckpt=ckpt))
    hook = TeacherAccuracyHook(min_accuracy=0)
    with current_log_records() as records:
        hook.before_train(runner)
    assert hook.metrics['plate/num_samples'] == 12  # it read
    assert not any('The teacher reads' in r.getMessage() for r in records)


def test_a_resumed_run_takes_the_score_its_checkpoint_holds(tmp_path, plates, trained_run,
                                                            monkeypatch):
    cfg = _cfg(_copy_of(trained_run, tmp_path / 'run'), plates)
    cfg.merge_from_dict(dict(resume=True, train_cfg=dict(max_epochs=2),
                             experiment_name=f'teacher-acc-{next(_ids)}'))
    calls = []
    monkeypatch.setattr(TeacherAccuracyHook, 'read',
                        lambda self, *a: calls.append(1) or {'plate/accuracy': 0.0})
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert not calls and runner.message_hub.get_info(INFO_KEY)['plate/accuracy'] >= 0.5


def test_a_finished_run_resumed_reads_nothing_and_its_last_validation_has_the_teacher(
        tmp_path, plates, trained_run, monkeypatch):
    """A finished run resumed reads nothing; but killed in its last
    validation, ResumedValidationHook validates it again, and that line
    lacked the teacher's figures (val/teacher/...), which the checkpoint
    keeps and the unbroken run logged."""
    import os
    os.remove(_copy_of(trained_run, tmp_path / 'run') / 'last_validation.json')  # killed there
    cfg = _cfg(tmp_path / 'run', plates)
    cfg.merge_from_dict(dict(resume=True, experiment_name=f'teacher-acc-{next(_ids)}'))
    calls = []
    monkeypatch.setattr(TeacherAccuracyHook, 'read',
                        lambda self, *a: calls.append(1) or {'plate/accuracy': 0.0})
    runner = Runner.from_cfg(cfg)
    with current_log_records() as records:
        runner.train()
    said = [r.getMessage() for r in records]
    assert not calls and not any('read when the run started' in m for m in said)
    assert any('validating it now' in m for m in said)
    assert any(m.startswith('plate/accuracy: student') and 'teacher on its' in m for m in said)
    assert any('Epoch(val)' in m and 'teacher/plate/accuracy' in m for m in said)


def test_min_accuracy_is_a_fraction():
    with pytest.raises(ValueError, match='min_accuracy is a fraction'):
        TeacherAccuracyHook(min_accuracy=50)


def test_a_dld_config_without_a_teacher_is_refused_before_the_run():
    """teacher_ckpt=None and no load_from was a traceback at the first step,
    after the whole set-up; a load_from that brings a teacher is fine."""
    from dld.models.distillers.teacher_checkpoint import (
        UntrainedTeacherError,
        check_config_teacher,
    )
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'dld_plate.py'))
    cfg.model.teacher_ckpt = None
    with pytest.raises(UntrainedTeacherError, match=r'no trained weights: set '
                       r'`model.teacher_ckpt` \(train one with .*teacher_plate_hr.py'):
        check_config_teacher(cfg)
    cfg.load_from = 'work_dirs/dld_plate_hr/best.pth'  # may hold the teacher: asked later
    check_config_teacher(cfg)
    cfg.load_from, cfg.model.type = None, 'TextRecognizer'  # no teacher to ask for
    check_config_teacher(cfg)


def test_a_run_whose_load_from_brings_no_teacher_stops_before_its_first_step(tmp_path,
                                                                            plates):
    from dld.models.distillers.teacher_checkpoint import UntrainedTeacherError
    runner = Runner.from_cfg(_cfg(tmp_path / 'run', plates, teacher_ckpt=None))
    with pytest.raises(UntrainedTeacherError, match='teacher has no trained weights'):
        runner.train()
    assert runner.message_hub.get_info(INFO_KEY) is None  # a random teacher is not read


def _teacher_model():
    from dld.registry import MODELS
    return MODELS.build(dict(_recognizer(), data_preprocessor=dict(type='PlateDataPreprocessor')))


def test_an_mmocr_checkpoint_is_named_as_such(tmp_path):
    """It was called 'a teacher of other layers' that model.teacher should
    describe, which no DLD config can for an MMOCR model."""
    from dld.engine.checkpoint import CheckpointFitError
    from dld.models.distillers import load_teacher_weights
    state = {f'backbone.layer_{k.split(".", 1)[1]}' if k.startswith('backbone.') else k: v
             for k, v in _teacher_model().state_dict().items()}
    path = tmp_path / 'sar.pth'
    torch.save(dict(state_dict=state, meta=dict(cfg="default_scope = 'mmocr'\nmodel = dict()")),
               path)
    with pytest.raises(CheckpointFitError, match=r"a checkpoint of mmocr \(its config's "
                       r"default_scope is 'mmocr'\).*train a DLD teacher"):
        load_teacher_weights(_teacher_model(), str(path))


def test_a_dld_checkpoint_given_as_the_teacher_says_it_takes_its_teacher(tmp_path):
    from dld.models.distillers import load_teacher_weights
    state = {f'teacher.{k}': v for k, v in _teacher_model().state_dict().items()}
    state.update({f'student.{k}': v for k, v in _teacher_model().state_dict().items()})
    path = tmp_path / 'dld.pth'
    torch.save(dict(state_dict=state, meta=dict()), path)
    with current_log_records() as records:
        load_teacher_weights(_teacher_model(), str(path))
    assert any('is a DLD checkpoint: the teacher it distilled from' in r.getMessage()
               for r in records)


def test_only_reading_metrics_score_the_teacher(tmp_path, plates, monkeypatch):
    """A metric that writes a file (DumpReadings) or reads a distiller's costs
    (ReadingCostMetric) is the student's validation's alone."""
    from dld.evaluation.metrics.dump_readings import DumpReadings
    written = []
    monkeypatch.setattr(DumpReadings, 'compute_metrics',
                        lambda self, results: written.append(len(results)) or {})
    cfg = _cfg(tmp_path / 'run', plates)
    cfg.val_evaluator = [dict(type='PlateRecogMetric'), dict(type='ReadingCostMetric'),
                         dict(type='DumpReadings', out_file_path=str(tmp_path / 'val.pkl'))]
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert written == [12]  # the one validation, not the teacher's read
    assert not any(k.startswith('cost/') for k in runner.message_hub.get_info(INFO_KEY))


def test_reading_the_teacher_leaves_the_global_generators_as_they_were(tmp_path, plates):
    """The read is not training's: the generators training draws from (a
    dataloader's base seed comes from torch's) are as they were, so a run
    trains the same weights with the hook as without it."""
    import random

    import numpy as np
    runner = Runner.from_cfg(_cfg(tmp_path / 'run', plates))
    hook = TeacherAccuracyHook()
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    before = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    hook.before_train(runner)
    assert hook.metrics and hook.metrics['plate/num_samples'] == 12  # it did read
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]


def _dld_checkpoint(tmp_path, plates, teacher_ckpt) -> str:
    """A DLD checkpoint whose teacher is ``teacher_ckpt``'s."""
    from mmengine.registry import init_default_scope

    from dld.registry import MODELS
    init_default_scope('dld')
    model = MODELS.build(_cfg(tmp_path / 'built', plates, teacher_ckpt=teacher_ckpt).model)
    path = str(tmp_path / 'dld.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def test_a_weak_teacher_that_load_from_brought_is_named_as_such(tmp_path, plates):
    # With model.teacher_ckpt=None it said "Check model.teacher_ckpt"
    path = _dld_checkpoint(tmp_path, plates, _other_domain_teacher(tmp_path / 'other.pth'))
    cfg = _cfg(tmp_path / 'run', plates, teacher_ckpt=None)
    cfg.load_from = path
    runner = Runner.from_cfg(cfg)
    with current_log_records() as records:
        runner.train()
    [warned] = [r.getMessage() for r in records
                if r.levelno >= logging.WARNING and 'The teacher reads' in r.getMessage()]
    assert f'Check the teacher of load_from, {path}, which model.teacher_ckpt=None takes ' \
        '(the checkpoint meant?' in warned
    assert 'model.teacher_ckpt (' not in warned


def test_load_from_says_it_replaces_the_student_initialised_from_the_teacher(tmp_path,
                                                                           plates):
    # "Initialised the student from the teacher." was the last word on the
    # student's weights, which load_from then replaced
    from dld.engine.start_checkpoint import check_start_checkpoint
    from dld.registry import MODELS
    path = _dld_checkpoint(tmp_path, plates, TEACHER)
    with current_log_records() as records:
        model = MODELS.build(_cfg(tmp_path / 'run', plates).model)
        check_start_checkpoint(model, path, resume=False)
    said = [r.getMessage() for r in records]
    assert said.index('Initialised the student from the teacher.') < said.index(
        f'load_from ({path}) holds the student: its weights replace those initialised from '
        'the teacher.')
    no_student = str(tmp_path / 'no_student.pth')  # nothing of the student: not said
    torch.save(dict(state_dict={k: v for k, v in model.state_dict().items()
                                if not k.startswith('student.')}, meta={}), no_student)
    with current_log_records() as records:
        check_start_checkpoint(model, no_student, resume=False)
    assert not any('holds the student' in r.getMessage() for r in records)
