import math
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope

from dld.engine.hooks import GumbelTemperatureHook
from dld.models.selectors import ResolutionSelector
from dld.registry import HOOKS


class Distiller(nn.Module):

    def __init__(self):
        super().__init__()
        self.selector = ResolutionSelector()


def make_runner(model, it=0, max_iters=11, epoch=0, max_epochs=5):
    return SimpleNamespace(model=model, iter=it, max_iters=max_iters, epoch=epoch,
                           max_epochs=max_epochs,
                           message_hub=MessageHub.get_instance('test_gumbel_hook'))


def tau_at(hook, model, it, max_iters=11):
    hook.before_train_iter(make_runner(model, it, max_iters), batch_idx=it)
    return model.selector.tau


@pytest.mark.parametrize('schedule, middle', [('exp', math.sqrt(5.0 * 0.5)),
                                              ('linear', 2.75), ('cosine', 2.75)])
def test_schedule_values_at_start_middle_and_end(schedule, middle):
    # Build in the dld scope whatever scope an earlier test's runner left current.
    with DefaultScope.overwrite_default_scope('dld'):
        hook = HOOKS.build(dict(type='GumbelTemperatureHook', start=5.0, end=0.5,
                                schedule=schedule))
    model = Distiller()
    assert tau_at(hook, model, 0) == pytest.approx(5.0)
    assert tau_at(hook, model, 5) == pytest.approx(middle)
    assert tau_at(hook, model, 10) == pytest.approx(0.5)


def test_cosine_stays_near_start_early_and_linear_does_not():
    model = Distiller()
    cos = tau_at(GumbelTemperatureHook(schedule='cosine'), model, 1)
    lin = tau_at(GumbelTemperatureHook(schedule='linear'), model, 1)
    assert cos > lin


def test_by_epoch_uses_epoch_progress_and_logs_tau():
    hook = GumbelTemperatureHook(start=4.0, end=1.0, schedule='linear', by_epoch=True)
    model = Distiller()
    runner = make_runner(model, it=3, epoch=2, max_epochs=5)
    hook.before_train_iter(runner, batch_idx=3)
    assert model.selector.tau == pytest.approx(2.5)
    assert runner.message_hub.get_scalar('train/gumbel_tau').current() == pytest.approx(2.5)


def test_unwraps_model_wrappers():
    model = Distiller()
    wrapped = nn.DataParallel(model)  # registered in MMEngine's MODEL_WRAPPERS
    GumbelTemperatureHook().before_train_iter(make_runner(wrapped, it=10), batch_idx=0)
    assert model.selector.tau == pytest.approx(0.5)


def test_missing_selector_is_a_clear_error():
    from dld.engine.runner_settings import ConfigSettingError  # train.py: one line
    with pytest.raises(ConfigSettingError, match='selector'):
        GumbelTemperatureHook().before_train(make_runner(nn.Linear(2, 2)))


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match='schedule'):
        GumbelTemperatureHook(schedule='step')
    with pytest.raises(ValueError, match='> 0'):
        GumbelTemperatureHook(end=0.0)


@pytest.mark.parametrize('hooks, decisions, warned', [
    ([], 'gumbel', True),  # custom_hooks replaced the base's list
    ([GumbelTemperatureHook()], 'gumbel', False),
    ([], 'expected', False),  # no samples, no temperature
])
def test_a_selector_trained_on_unannealed_samples_is_said(hooks, decisions, warned, caplog):
    from mmengine.logging import MMLogger

    from dld.engine.hooks.gumbel_temperature_hook import warn_if_not_annealed
    model = Distiller()
    model.train_selector, model.selector_decisions = True, decisions
    runner = SimpleNamespace(model=model, hooks=hooks)
    MMLogger.get_current_instance().addHandler(caplog.handler)
    try:
        warn_if_not_annealed(runner)
    finally:
        MMLogger.get_current_instance().removeHandler(caplog.handler)
    assert ('no GumbelTemperatureHook anneals it' in caplog.text) == warned


def test_a_frozen_selector_is_neither_annealed_nor_logged():
    """The student stage's frozen selector draws no samples: its annealed
    gumbel_tau in the log described nothing that ran."""
    model = Distiller()
    model.train_selector = False
    runner = make_runner(model, it=10)
    runner.message_hub = MessageHub.get_instance('test_gumbel_frozen')
    GumbelTemperatureHook().before_train_iter(runner, batch_idx=10)
    assert model.selector.tau == ResolutionSelector().tau
    assert 'train/gumbel_tau' not in runner.message_hub.log_scalars
    model.train_selector = True
    GumbelTemperatureHook().before_train_iter(runner, batch_idx=10)
    assert model.selector.tau == pytest.approx(0.5)


def test_a_selector_trained_on_the_softmax_s_expectation_is_neither_annealed_nor_logged():
    """The selector stage's 'expected' decisions draw no Gumbel sample: the
    log's gumbel_tau 0.3 had no effect (an efficiency journey)."""
    model = Distiller()
    model.selector_decisions = 'expected'
    runner = make_runner(model, it=10)
    runner.message_hub = MessageHub.get_instance('test_gumbel_expected')
    GumbelTemperatureHook().before_train_iter(runner, batch_idx=10)
    assert model.selector.tau == ResolutionSelector().tau
    assert 'train/gumbel_tau' not in runner.message_hub.log_scalars
    model.selector_decisions = 'gumbel'
    GumbelTemperatureHook().before_train_iter(runner, batch_idx=10)
    assert 'train/gumbel_tau' in runner.message_hub.log_scalars


@pytest.mark.parametrize('kwargs, error, match', [
    # tau became NaN, and every decision with it, silently
    (dict(start=float('inf')), ValueError, r'GumbelTemperatureHook\.start must be a finite'),
    (dict(end=float('nan')), ValueError, r'GumbelTemperatureHook\.end must be a finite'),
    # "'<=' not supported between instances of 'str' and 'int'"
    (dict(start='5'), TypeError, r'GumbelTemperatureHook\.start must be a number'),
    (dict(start=-1.0), ValueError, r'GumbelTemperatureHook\.start must be a finite number'),
])
def test_a_temperature_that_is_no_finite_positive_number_is_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        GumbelTemperatureHook(**kwargs)


def test_a_resumed_run_keeps_the_length_its_temperature_started_with():
    """A finished run resumed with a larger max_epochs kept its learning rate
    at the one-cycle's end (the schedule restored as saved) while its
    temperature went back up from its end (0.5 to 1.58 here) and annealed
    again. It keeps the run's first length now, at its end past it, said."""
    from log_records import current_log_records
    hook, model = GumbelTemperatureHook(start=5.0, end=0.5), Distiller()
    first = make_runner(model, it=0, max_iters=11)
    first.message_hub = MessageHub.get_instance('gumbel_resumed_length')
    hook.before_train(first)
    hook.before_train_iter(first, batch_idx=0)
    assert model.selector.tau == pytest.approx(5.0)
    # resumed after its 11 iterations (the message hub restored from the checkpoint)
    resumed, hook = make_runner(model, it=11, max_iters=21), GumbelTemperatureHook(
        start=5.0, end=0.5)
    resumed.message_hub = first.message_hub
    with current_log_records() as records:
        hook.before_train(resumed)
    said = [r.getMessage() for r in records if 'Gumbel temperature' in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(
        'Resumed to train 21 iterations (train_cfg) where the run started with 11: ')
    assert 'reaches its end (0.5) after 11 iterations and stays there' in said[0]
    for it in (11, 15, 20):
        resumed.iter = it
        hook.before_train_iter(resumed, batch_idx=it)
        assert model.selector.tau == pytest.approx(0.5)
    # resumed with the length it started with (a stop and --resume): as one run, unsaid
    again, hook = make_runner(model, it=5, max_iters=11), GumbelTemperatureHook(
        start=5.0, end=0.5)
    again.message_hub = MessageHub.get_instance('gumbel_same_length')
    again.message_hub.update_info('dld_gumbel_length', dict(max_iters=11, max_epochs=5))
    with current_log_records() as records:
        hook.before_train(again)
    assert not [r for r in records if 'Gumbel temperature' in r.getMessage()]
    hook.before_train_iter(again, batch_idx=5)
    assert model.selector.tau == pytest.approx(math.sqrt(5.0 * 0.5))


def test_an_older_checkpoint_keeps_the_length_its_run_annealed_over():
    """A checkpoint saved before the length was recorded (an older DLD's)
    holds MMEngine's runtime info of its run's length; resumed with a larger
    max_iters its temperature jumped back up (1.68 to 2.26 on a 20-iteration
    run resumed at 10 for 30) and re-annealed, unsaid, while the learning
    rate kept its schedule. It keeps the saved run's length now, said."""
    from log_records import current_log_records
    model = Distiller()
    info = dict(max_iters=11, max_epochs=5, iter=5, epoch=2)  # no 'dld_gumbel_length'
    checkpoint = dict(message_hub=dict(log_scalars={}, runtime_info=info, resumed_keys={}))
    hook = GumbelTemperatureHook(start=5.0, end=0.5)
    resumed = make_runner(model, it=5, max_iters=21)
    resumed.message_hub = MessageHub.get_instance('gumbel_older_checkpoint')
    hook.after_load_checkpoint(resumed, checkpoint)  # MMEngine: then the hub is restored
    resumed.message_hub.load_state_dict(checkpoint['message_hub'])
    with current_log_records() as records:
        hook.before_train(resumed)
    said = [r.getMessage() for r in records if 'Gumbel temperature' in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(
        'Resumed to train 21 iterations (train_cfg) where the run started with 11: ')
    hook.before_train_iter(resumed, batch_idx=5)
    assert model.selector.tau == pytest.approx(math.sqrt(5.0 * 0.5))  # as the unbroken run
    resumed.iter = 15
    hook.before_train_iter(resumed, batch_idx=15)
    assert model.selector.tau == pytest.approx(0.5)
    # a checkpoint's own record is kept as it is
    own = dict(max_iters=7, max_epochs=3)
    info = {'max_iters': 11, 'max_epochs': 5, 'dld_gumbel_length': dict(own)}
    hook.after_load_checkpoint(resumed, dict(message_hub=dict(runtime_info=info)))
    assert info['dld_gumbel_length'] == own
