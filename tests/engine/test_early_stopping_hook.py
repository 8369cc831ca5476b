"""EarlyStoppingHook in DLD's scope: its patience survives a resume."""
from types import SimpleNamespace

from mmengine.logging import MessageHub, MMLogger

from dld.engine.hooks import EarlyStoppingHook
from dld.engine.hooks.resumed_validation_hook import RUN_ID_KEY
from dld.registry import HOOKS


def _runner(tmp_path, epoch, iters=2):
    hub = MessageHub.get_instance('early_stopping_test')
    hub.update_info(RUN_ID_KEY, 'run-a')
    return SimpleNamespace(work_dir=str(tmp_path), message_hub=hub, epoch=epoch,
                           logger=MMLogger.get_current_instance(),
                           iter=epoch * iters, max_epochs=8,
                           train_loop=SimpleNamespace(stop_training=False))


def test_registered_in_dlds_scope():
    assert HOOKS.get('EarlyStoppingHook') is EarlyStoppingHook


def test_resumed_run_stops_where_the_unbroken_one_would(tmp_path):
    def hook():
        return EarlyStoppingHook(monitor='plate/accuracy', min_delta=0.01, patience=2)

    first = hook()
    for epoch, score in ((1, 0.5), (2, 0.5)):  # stopped (Ctrl-C) after epoch 2
        first.after_val_epoch(_runner(tmp_path, epoch), {'plate/accuracy': score})
    resumed, runner = hook(), _runner(tmp_path, 2)
    resumed.before_train(runner)
    assert not runner.train_loop.stop_training
    runner.epoch = 3
    resumed.after_val_epoch(runner, {'plate/accuracy': 0.5})
    assert runner.train_loop.stop_training  # the second validation without improvement

    again, runner = hook(), _runner(tmp_path, 3)  # --resume of the run it stopped
    again.before_train(runner)
    assert runner.train_loop.stop_training


def test_another_runs_record_is_not_replayed(tmp_path):
    hook = EarlyStoppingHook(monitor='plate/accuracy', min_delta=0.01, patience=1)
    hook.after_val_epoch(_runner(tmp_path, 1), {'plate/accuracy': 0.5})
    hook.after_val_epoch(_runner(tmp_path, 2), {'plate/accuracy': 0.5})
    runner = _runner(tmp_path, 2)
    runner.message_hub.update_info(RUN_ID_KEY, 'run-b')
    fresh = EarlyStoppingHook(monitor='plate/accuracy', min_delta=0.01, patience=1)
    fresh.before_train(runner)
    assert not runner.train_loop.stop_training


def test_every_rank_takes_rank_0_s_replay(tmp_path, monkeypatch):
    """Each rank read the record itself: after ResumedValidationHook's
    validation of the resumed epoch, whose score rank 0 writes, another
    rank could read it without that score and train on while rank 0
    stopped (a hang of the 2-process run, 3 resumes in 4)."""
    import dld.engine.hooks.early_stopping_hook as module

    def hook():
        return EarlyStoppingHook(monitor='plate/accuracy', min_delta=0.01, patience=1)

    first = hook()
    for epoch in (1, 2):
        first.after_val_epoch(_runner(tmp_path, epoch), {'plate/accuracy': 0.5})
    rank0, runner0 = hook(), _runner(tmp_path, 2)
    rank0.before_train(runner0)
    assert runner0.train_loop.stop_training

    decided = []
    monkeypatch.setattr(module, 'is_main_process', lambda: False)
    monkeypatch.setattr(module, 'broadcast_object_list',
                        lambda objects: decided.append(objects) or objects.__setitem__(
                            0, (rank0.best_score, rank0.wait_count, True, 'rank 0 stopped', 2)))
    (tmp_path / 'early_stopping.json').write_text('{}')  # what rank 1 would have read: nothing
    rank1, runner1 = hook(), _runner(tmp_path, 2)
    rank1.before_train(runner1)
    assert decided and runner1.train_loop.stop_training
    assert (rank1.best_score, rank1.wait_count) == (rank0.best_score, rank0.wait_count)


def test_a_missing_monitor_is_said_once(tmp_path):
    """MMEngine's warnings.warn came from every process at every validation."""
    from log_records import current_log_records
    hook = EarlyStoppingHook(monitor='plate/acc', rule='greater', patience=1)
    with current_log_records() as records:
        for epoch in (1, 2):
            runner = _runner(tmp_path, epoch)
            hook.after_val_epoch(runner, {'plate/accuracy': 0.5})
            assert not runner.train_loop.stop_training
    said = [r.getMessage() for r in records if "have no 'plate/acc'" in r.getMessage()]
    assert len(said) == 1 and 'did you mean plate/accuracy' in said[0]
    assert not (tmp_path / 'early_stopping.json').exists()


def test_an_iteration_based_run_keeps_its_patience_across_a_resume(tmp_path):
    """An IterBasedTrainLoop's epoch is 0 throughout: its record was keyed
    by that epoch, each validation's score replacing the last, and a resumed
    run replayed one score only (a run stopped after 2 validations without
    improvement of patience 3 went on for 3 more). Keyed by iteration now."""
    from mmengine.runner import IterBasedTrainLoop

    def hook():
        return EarlyStoppingHook(monitor='plate/accuracy', min_delta=0.01, patience=2)

    def runner(iteration):
        loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)  # its type is what counts
        loop.stop_training = False
        return SimpleNamespace(**dict(vars(_runner(tmp_path, 0)), iter=iteration,
                                      max_iters=100, train_loop=loop))

    first = hook()
    for iteration, score in ((10, 0.5), (20, 0.5)):  # stopped (Ctrl-C) after iteration 20
        first.after_val_epoch(runner(iteration), {'plate/accuracy': score})
    import json
    record = json.loads((tmp_path / 'early_stopping.json').read_text())
    assert record['unit'] == 'iteration' and list(record['scores']) == ['10', '20']
    resumed, at_20 = hook(), runner(20)
    resumed.before_train(at_20)
    assert not at_20.train_loop.stop_training and resumed.wait_count == 1
    at_30 = runner(30)
    resumed.after_val_epoch(at_30, {'plate/accuracy': 0.5})
    assert at_30.train_loop.stop_training  # the second validation without improvement
    again, at_30 = hook(), runner(30)  # --resume of the run it stopped
    again.before_train(at_30)
    assert at_30.train_loop.stop_training
    # the record of an epoch-based run of the same id is not replayed by iteration
    epochs = _runner(tmp_path, 30)
    assert hook()._scores(epochs) == {}


def test_a_stop_at_the_last_validation_is_no_early_end(tmp_path):
    """A stop condition met at the run's last validation ends nothing early:
    it was warned of as a schedule that 'did not reach their end' ('stopped
    the run after iteration 12 of 12')."""
    import logging

    from log_records import current_log_records

    def stop_after(epoch):
        hook = EarlyStoppingHook(monitor='plate/accuracy', min_delta=0.01, patience=1)
        hook.after_val_epoch(_runner(tmp_path / str(epoch), epoch - 1), {'plate/accuracy': 0.5})
        runner = _runner(tmp_path / str(epoch), epoch)
        with current_log_records() as records:
            hook.after_val_epoch(runner, {'plate/accuracy': 0.5})
        assert runner.train_loop.stop_training
        return [r.getMessage() for r in records if r.levelno == logging.WARNING]

    assert any('did not reach their end' in m for m in stop_after(5))  # of 8
    assert not any('stopped the run' in m for m in stop_after(8))


def test_an_older_iteration_based_record_is_said_not_replayed(tmp_path):
    """An older DLD keyed an iteration-based run's scores by its epoch (0),
    without 'unit': its patience counts afresh from the resume, which is
    said once (it was silent)."""
    import json
    import logging

    from log_records import current_log_records
    from mmengine.runner import IterBasedTrainLoop
    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    loop.stop_training = False
    runner = SimpleNamespace(**dict(vars(_runner(tmp_path, 0)), iter=4, max_iters=12,
                                    train_loop=loop))
    (tmp_path / 'early_stopping.json').write_text(json.dumps(dict(
        run_id='run-a', monitor='plate/accuracy', scores={'0': 0.0}, stopped_after=None)))
    hook = EarlyStoppingHook(monitor='plate/accuracy', min_delta=0.01, patience=3)
    with current_log_records() as records:
        hook.before_train(runner)
    said = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(said) == 1 and 'older DLD' in said[0] and 'counts afresh' in said[0]
    assert not loop.stop_training and hook.wait_count == 0
