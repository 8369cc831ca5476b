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
