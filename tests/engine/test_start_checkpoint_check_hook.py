"""StartCheckpointCheckHook: what tools/train.py checks before a run, for a
run started from Python (a Runner built in a script or a notebook)."""
import itertools
import logging
import os

import pytest
import torch
from log_records import current_log_records
from mmengine.runner import Runner
from tiny_runner_parts import TinyData, TinyModel

from dld.engine import hooks as dld_hooks
from dld.engine.hooks import StartCheckpointCheckHook
from dld.engine.runner_settings import ConfigSettingError
from dld.engine.start_checkpoint import StartCheckpointError

_run_ids = itertools.count()


class FrozenStudentModel(TinyModel):
    """Says what a DLD selector stage says: its student is frozen."""

    train_student = False


def _runner(work_dir, model=None, load_from=None, val_interval=1, hook=True, resume=False):
    loader = dict(dataset=TinyData(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=4, collate_fn=dict(type='default_collate'))
    return Runner(
        model=model or TinyModel(), work_dir=str(work_dir), train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=val_interval),
        test_dataloader=loader, test_evaluator=[], test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(start=StartCheckpointCheckHook()) if hook else {},
        load_from=load_from, resume=resume, log_level='WARNING',
        experiment_name=f'start-check-{next(_run_ids)}')


def _saved(path, **state):
    torch.save(dict(state_dict=state), path)
    return str(path)


def test_a_frozen_student_without_load_from_stops_before_training(tmp_path):
    runner = _runner(tmp_path, FrozenStudentModel())
    with pytest.raises(ConfigSettingError, match=r'train_student=False freezes the student'):
        runner.train()
    assert runner.iter == 0 and not any(f.endswith('.pth') for f in os.listdir(tmp_path))
    # loaded, it trains
    ckpt = _saved(tmp_path / 'student.pth', **TinyModel().state_dict())
    _runner(tmp_path / 'loaded', FrozenStudentModel(), load_from=ckpt).train()


def test_a_load_from_sharing_no_weight_stops_before_it_is_loaded(tmp_path):
    other = _saved(tmp_path / 'other.pth', **{'teacher.fc.weight': torch.zeros(1, 2)})
    with pytest.raises(StartCheckpointError, match=r'shares no weight with the model'):
        _runner(tmp_path / 'run', load_from=other).train()
    with pytest.raises(StartCheckpointError, match=r'is a folder'):
        _runner(tmp_path / 'run2', load_from=str(tmp_path)).train()


def test_val_interval_zero_stops_before_the_first_epoch(tmp_path):
    """It trained a whole epoch, then failed on a ZeroDivisionError."""
    runner = _runner(tmp_path, val_interval=0)
    with pytest.raises(ConfigSettingError, match=r'train_cfg.val_interval must be an integer'):
        runner.train()
    assert runner.iter == 0


def test_without_the_hook_none_of_it_is_checked(tmp_path):
    """What the hook adds (the checks are MMEngine's without it)."""
    runner = _runner(tmp_path, FrozenStudentModel(), hook=False)
    runner.train()
    assert runner.iter == 2


def test_a_start_checked_already_is_not_read_again(tmp_path, monkeypatch):
    """tools/train.py checks before it builds the data loops; the hook then skips."""
    ckpt = _saved(tmp_path / 'w.pth', **TinyModel().state_dict())
    runner = _runner(tmp_path / 'run', load_from=ckpt)
    dld_hooks.start_checkpoint_check_hook.check_run_start(runner)
    reads = []
    monkeypatch.setattr(dld_hooks.start_checkpoint_check_hook, 'check_start_checkpoint',
                        lambda *args: reads.append(args))
    runner.train()
    assert reads == []


def test_testing_without_load_from_says_it_reads_the_weights_as_built(tmp_path):
    runner = _runner(tmp_path)
    with current_log_records() as records:
        runner.test()
    assert [r.getMessage() for r in records if r.levelno == logging.WARNING and
            r.getMessage().startswith('No load_from: the model is evaluated with its weights '
                                      'as built')]
    ckpt = _saved(tmp_path / 'w.pth', **TinyModel().state_dict())
    runner = _runner(tmp_path / 'loaded', load_from=ckpt)
    with current_log_records() as records:
        runner.test()
    assert not [r for r in records if 'No load_from' in r.getMessage()]
    # weights loaded otherwise (tools/test.py loads the checkpoint itself)
    runner = _runner(tmp_path / 'own')
    dld_hooks.start_checkpoint_check_hook.mark_weights_loaded(runner)
    with current_log_records() as records:
        runner.test()
    assert not [r for r in records if 'No load_from' in r.getMessage()]


def test_resume_true_without_load_from_checks_the_checkpoint_it_resumes(tmp_path):
    """MMEngine found the last checkpoint itself, after every check: one of
    another model resumed (or failed in the optimiser), a pointer naming a
    gone file was a traceback."""
    other = _saved(tmp_path / 'epoch_1.pth', **{'teacher.fc.weight': torch.zeros(1, 2)})
    (tmp_path / 'last_checkpoint').write_text(other)
    with pytest.raises(StartCheckpointError, match=r'the checkpoint --resume continues \(.*'
                                                   r'epoch_1\.pth\) does not hold this model'):
        _runner(tmp_path, resume=True).train()
    fresh = tmp_path / 'fresh'  # a pointer naming a gone file, nothing else: afresh
    fresh.mkdir()
    (fresh / 'last_checkpoint').write_text(str(fresh / 'epoch_9.pth'))
    runner = _runner(fresh, resume=True)
    runner.train()
    assert runner.epoch == 1 and os.path.isfile(fresh / 'epoch_1.pth')
