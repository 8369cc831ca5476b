"""Where a resumed epoch-based run stands: within an epoch of its own
length is refused; a checkpoint without the record of its epochs' length
(an older DLD's) is not checked; an empty training set is said."""
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub
from mmengine.runner import EpochBasedTrainLoop

from dld.engine.hooks.resumed_schedule_check_hook import (
    ResumedScheduleCheckHook,
    ResumedScheduleError,
)


def _runner(iters_per_epoch, it, epoch, resumed=True, max_epochs=10):
    loop = object.__new__(EpochBasedTrainLoop)
    loop.dataloader = [None] * iters_per_epoch
    return SimpleNamespace(train_loop=loop, iter=it, epoch=epoch, _resume=resumed,
                           max_iters=max_epochs * iters_per_epoch, max_epochs=max_epochs,
                           message_hub=MessageHub.get_instance(f'positions_{id(loop)}'),
                           cfg={}, param_schedulers=[], optim_wrapper=None)


def test_within_an_epoch_is_refused():
    with pytest.raises(ResumedScheduleError, match='saved within epoch 2, after iteration 3'):
        ResumedScheduleCheckHook().before_train(_runner(10, 13, 1))


def test_an_older_checkpoint_of_other_epochs_is_not_called_mid_epoch():
    """iter 21, epoch 3 at 14 an epoch was 'saved within epoch 4, after
    iteration -21 of its 14'."""
    ResumedScheduleCheckHook().before_train(_runner(14, 21, 3))


def test_an_empty_training_set_is_said():
    """'integer modulo by zero' (before: it trained nothing, silently)."""
    with pytest.raises(ResumedScheduleError, match='The training set gives no batch'):
        ResumedScheduleCheckHook().before_train(_runner(0, 0, 0))


def test_after_an_epochs_last_iteration_but_before_its_end_is_refused():
    """A checkpoint by iteration after epoch 1's last iteration is saved
    before the epoch's count moves on (epoch 0, iteration 10): resumed, the
    loop trained epoch 1 again, silently."""
    with pytest.raises(ResumedScheduleError, match='saved within epoch 1, after iteration 10'):
        ResumedScheduleCheckHook().before_train(_runner(10, 10, 0))
    ResumedScheduleCheckHook().before_train(_runner(10, 10, 1))  # at its end: goes on


def test_a_runs_last_checkpoint_by_iteration_resumed_to_train_longer_says_how():
    """MMEngine records a checkpoint by iteration in the epoch it was saved
    in, the run's last too (epoch 1, iteration 20 of a 2-epoch run of 10):
    resumed with more epochs it is refused, and the advice named "a run's
    last one" as one that resumes."""
    with pytest.raises(ResumedScheduleError) as err:
        ResumedScheduleCheckHook().before_train(_runner(10, 20, 1, max_epochs=3))
    assert "a run's last one" not in str(err.value)
    assert 'to train longer, start a new schedule from its weights' in str(err.value)


def test_a_finished_runs_last_checkpoint_by_iteration_trains_nothing_more():
    """The run's last checkpoint by iteration (epoch 1, iteration 20 of a
    2-epoch run of 10, saved before the last epoch's end) resumed with the
    same max_epochs was said to leave 'nothing to train' ('after epoch 1 ...
    ends the run before it'), and the loop, at epoch 1 of 2, trained the
    last epoch again: 10 iterations past the schedule, the run's last
    checkpoints rotated out. The loop stands at the run's end."""
    runner = _runner(10, 20, 1, max_epochs=2)
    ResumedScheduleCheckHook().before_train(runner)
    assert runner.train_loop._epoch == 2  # EpochBasedTrainLoop.run trains no epoch more
