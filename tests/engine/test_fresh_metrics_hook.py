"""FreshMetricsHook: a validation's log holds its own metrics, not the last's."""
from types import SimpleNamespace

from mmengine.logging import MessageHub

from dld.engine.hooks import FreshMetricsHook
from dld.utils import read_config


def test_the_last_validations_metrics_are_forgotten_before_the_next():
    """track/confidence_wrong (left out where no track is wrong) was logged
    with the last validation's value beside track/accuracy 1.0."""
    hub = MessageHub.get_instance('fresh-metrics-test')
    hub.update_scalar('train/loss', 1.0)
    hub.update_scalar('val/track/accuracy', 0.9)
    hub.update_scalar('val/track/confidence_wrong', 0.0013, resumed=True)
    hub.update_scalar('test/plate/accuracy', 0.5)
    runner = SimpleNamespace(message_hub=hub)
    FreshMetricsHook().before_val_epoch(runner)
    assert set(hub.log_scalars) == {'train/loss', 'test/plate/accuracy'}
    assert 'val/track/confidence_wrong' not in hub.state_dict()['resumed_keys']
    hub.update_scalar('val/track/accuracy', 1.0)  # this validation's, without the other key
    FreshMetricsHook().before_test_epoch(runner)
    assert set(hub.log_scalars) == {'train/loss', 'val/track/accuracy'}


def test_every_config_runs_it():
    assert read_config('configs/dld_plate.py').default_hooks.fresh_metrics == dict(
        type='FreshMetricsHook')
