"""ResumedValidationHook: a resumed run validates the epoch whose validation a
crash cut short, and only that one."""
import itertools
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.runner import Runner
from tiny_runner_parts import TinyData, TinyModel

from dld.engine.hooks import AtomicCheckpointHook, ResumedValidationHook

_run_ids = itertools.count()


class Killed(Exception):
    """Stands for the process dying."""


class EpochMetric(BaseMetric):
    """Scores a validation by its epoch (each one a new best), records which
    epochs were validated, and dies once in the validation of ``crash_at``."""

    validated = []
    crash_at = None
    epoch = None  # set by TellEpoch

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        epoch = EpochMetric.epoch
        if epoch == EpochMetric.crash_at:
            EpochMetric.crash_at = None
            raise Killed(f'killed while validating epoch {epoch}')
        EpochMetric.validated.append(epoch)
        return dict(score=float(epoch))


class TellEpoch(Hook):
    """Tells the metric which epoch it validates."""

    def before_val(self, runner):
        EpochMetric.epoch = runner.epoch


@pytest.fixture(autouse=True)
def _fresh_metric():
    EpochMetric.validated, EpochMetric.crash_at = [], None


def _runner(work_dir, epochs, val_interval=1, resume=False, load_from=None, hook=True):
    loader = dict(dataset=TinyData(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=4, collate_fn=dict(type='default_collate'))
    hooks = dict(checkpoint=AtomicCheckpointHook(interval=1, save_best='score', rule='greater'))
    if hook:
        hooks['resumed_validation'] = ResumedValidationHook()
    return Runner(
        model=TinyModel(), work_dir=str(work_dir), train_dataloader=loader,
        val_dataloader=loader, val_evaluator=Evaluator(EpochMetric()), val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=epochs, val_interval=val_interval),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_hooks=hooks, custom_hooks=[TellEpoch()], resume=resume, load_from=load_from,
        log_level='WARNING', experiment_name=f'resumed-val-{next(_run_ids)}')


def _killed_in_validation(work_dir, epoch, epochs, **kwargs):
    EpochMetric.crash_at = epoch
    with pytest.raises(Killed):
        _runner(work_dir, epochs, **kwargs).train()


def test_a_run_killed_in_its_last_validation_validates_on_resume(tmp_path):
    _killed_in_validation(tmp_path, epoch=2, epochs=2)
    assert osp.isfile(tmp_path / 'epoch_2.pth')  # saved before the validation
    assert os.readlink(tmp_path / 'best.pth') == 'best_score_epoch_1.pth'
    EpochMetric.validated = []

    _runner(tmp_path, epochs=2, resume=True).train()
    assert EpochMetric.validated == [2]
    assert os.readlink(tmp_path / 'best.pth') == 'best_score_epoch_2.pth'
    assert not osp.exists(tmp_path / 'best_score_epoch_1.pth')
    with open(tmp_path / 'last_validation.json') as f:
        assert json.load(f)['epoch'] == 2


def test_the_new_best_is_written_into_the_resumed_checkpoint(tmp_path):
    """As in an unbroken run: resumed from it again, later scores are
    compared with this best, not with the one before."""
    _killed_in_validation(tmp_path, epoch=2, epochs=2)
    _runner(tmp_path, epochs=2, resume=True).train()
    ckpt = torch.load(tmp_path / 'epoch_2.pth', map_location='cpu', weights_only=True)
    info = ckpt['message_hub']['runtime_info']
    assert info['best_score'] == 2.0
    assert osp.basename(info['best_ckpt']) == 'best_score_epoch_2.pth'
    assert ckpt['meta']['epoch'] == 2


def test_a_run_killed_mid_schedule_validates_then_trains_on(tmp_path):
    _killed_in_validation(tmp_path, epoch=2, epochs=3)
    EpochMetric.validated = []
    runner = _runner(tmp_path, epochs=3, resume=True)
    runner.train()
    assert EpochMetric.validated == [2, 3]
    assert runner.message_hub.get_info('best_score') == 3.0


def test_without_the_hook_the_resumed_run_skips_that_validation(tmp_path):
    """What the hook is for: MMEngine alone ends the resumed run unvalidated."""
    _killed_in_validation(tmp_path, epoch=2, epochs=2, hook=False)
    EpochMetric.validated = []
    _runner(tmp_path, epochs=2, resume=True, hook=False).train()
    assert EpochMetric.validated == []


def test_a_finished_validation_is_not_run_again(tmp_path):
    _runner(tmp_path, epochs=2).train()
    EpochMetric.validated = []
    _runner(tmp_path, epochs=2, resume=True).train()
    assert EpochMetric.validated == []
    _runner(tmp_path, epochs=3, resume=True).train()
    assert EpochMetric.validated == [3]


def test_an_epoch_the_loop_does_not_validate_is_not_validated_on_resume(tmp_path):
    _runner(tmp_path, epochs=3, val_interval=2).train()
    os.remove(tmp_path / 'last_validation.json')  # no record of any validation
    EpochMetric.validated = []
    _runner(tmp_path, epochs=3, val_interval=2, resume=True,
            load_from=str(tmp_path / 'epoch_1.pth')).train()
    assert EpochMetric.validated == [2, 3]


def test_the_record_of_an_earlier_run_in_the_work_dir_does_not_count(tmp_path):
    _runner(tmp_path, epochs=3).train()  # records epoch 3 as validated
    # A new run (not resumed) in the same work dir, killed in its first
    # validation, of epoch 2: the record still names the earlier run's epoch 3.
    _killed_in_validation(tmp_path, epoch=2, epochs=2, val_interval=2)
    with open(tmp_path / 'last_validation.json') as f:
        assert json.load(f)['epoch'] == 3
    EpochMetric.validated = []
    _runner(tmp_path, epochs=2, val_interval=2, resume=True).train()
    assert EpochMetric.validated == [2]


def test_an_unreadable_record_means_validating_again(tmp_path):
    _runner(tmp_path, epochs=2).train()
    (tmp_path / 'last_validation.json').write_text('{"run_id": ')  # cut short
    EpochMetric.validated = []
    _runner(tmp_path, epochs=2, resume=True).train()
    assert EpochMetric.validated == [2]


def test_a_run_rolled_back_to_an_older_checkpoint_validates_its_epochs_anew(tmp_path):
    """Resumed from epoch_1.pth after the run had validated epoch 3, then
    killed in epoch 2's validation: the record of epoch 3 (the abandoned
    timeline's) counted as epoch 2's, which was never validated, and the best
    was tracked off the unbroken run's (a resume journey)."""
    from unittest import mock
    _runner(tmp_path, epochs=3).train()  # the first timeline validated 1, 2 and 3
    EpochMetric.validated = []
    with mock.patch('dld.engine.hooks.resumed_validation_hook.print_log') as log:
        _killed_in_validation(tmp_path, epoch=2, epochs=3, resume=True,
                              load_from=str(tmp_path / 'epoch_1.pth'))
    [said] = [c.args[0] for c in log.call_args_list]
    assert said.startswith('Resumed at epoch 1 of a run rolled back from a later epoch (')
    assert "records epoch 3's validation): validating it now, as the run did then; " \
        'best_score_epoch_3.pth, of the epochs rolled back from, stays beside the best this ' \
        'run keeps.' in said
    assert EpochMetric.validated == [1]  # the resumed epoch 1 again, then killed in 2's
    with open(tmp_path / 'last_validation.json') as f:
        assert json.load(f)['epoch'] == 1
    EpochMetric.validated = []
    runner = _runner(tmp_path, epochs=3, resume=True)
    runner.train()
    assert EpochMetric.validated == [2, 3]
    assert runner.message_hub.get_info('best_score') == 3.0


class TellIter(Hook):
    """Tells the metric which iteration it validates (an iteration-based run)."""

    def before_val(self, runner):
        EpochMetric.epoch = runner.iter


def _iter_runner(work_dir, iters, val_interval=1, resume=False, extra_hooks=()):
    loader = dict(dataset=TinyData(), sampler=dict(type='InfiniteSampler', shuffle=False),
                  batch_size=4, collate_fn=dict(type='default_collate'))
    hooks = dict(checkpoint=AtomicCheckpointHook(by_epoch=False, interval=1, save_best='score',
                                                 rule='greater'),
                 resumed_validation=ResumedValidationHook())
    val_loader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False))
    return Runner(
        model=TinyModel(), work_dir=str(work_dir), train_dataloader=loader,
        val_dataloader=val_loader, val_evaluator=Evaluator(EpochMetric()), val_cfg=dict(),
        train_cfg=dict(by_epoch=False, max_iters=iters, val_interval=val_interval),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_hooks=hooks, custom_hooks=[TellIter(), *extra_hooks], resume=resume,
        log_level='WARNING', experiment_name=f'resumed-val-{next(_run_ids)}')


def test_an_iteration_based_run_killed_in_a_validation_validates_that_iteration(tmp_path):
    """MMEngine saves iteration i's checkpoint before validating it: a run
    killed in that validation resumed at i + 1 without it (the loop was
    left out: epoch-based only), and EarlyStoppingHook missed its score."""
    EpochMetric.crash_at = 2
    with pytest.raises(Killed):
        _iter_runner(tmp_path, iters=4).train()
    assert osp.isfile(tmp_path / 'iter_2.pth')  # saved before the validation
    EpochMetric.validated = []
    _iter_runner(tmp_path, iters=4, resume=True).train()
    assert EpochMetric.validated == [2, 3, 4]
    with open(tmp_path / 'last_validation.json') as f:
        assert json.load(f)['iter'] == 4
    assert os.readlink(tmp_path / 'best.pth') == 'best_score_iter_4.pth'


def test_an_iteration_based_validation_finished_is_not_run_again(tmp_path):
    _iter_runner(tmp_path, iters=2).train()
    EpochMetric.validated = []
    _iter_runner(tmp_path, iters=3, resume=True).train()
    assert EpochMetric.validated == [3]


def test_an_iteration_based_early_stop_comes_where_the_unbroken_run_s_did(tmp_path):
    """EarlyStoppingHook's patience across an iteration-based resume counts
    the score of the iteration whose validation the kill cut short."""
    from dld.engine.hooks import EarlyStoppingHook

    class Falling(EpochMetric):
        def compute_metrics(self, results):
            super().compute_metrics(results)
            return dict(score=-float(EpochMetric.epoch))  # no better after iteration 1

    def runner(work_dir, resume=False):
        r = _iter_runner(work_dir, iters=8, resume=resume, extra_hooks=[
            EarlyStoppingHook(monitor='score', rule='greater', patience=2)])
        r._val_evaluator = Evaluator(Falling())
        return r

    unbroken = runner(tmp_path / 'unbroken')
    unbroken.train()
    assert unbroken.iter == 3  # iterations 2 and 3 did not improve on 1
    EpochMetric.crash_at = 2
    with pytest.raises(Killed):
        runner(tmp_path / 'broken').train()
    resumed = runner(tmp_path / 'broken', resume=True)
    resumed.train()
    assert resumed.iter == unbroken.iter
