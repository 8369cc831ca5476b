"""Each validation's (and test's) log line holds its own metrics only."""
from mmengine.hooks import Hook

from dld.registry import HOOKS


@HOOKS.register_module()
class FreshMetricsHook(Hook):
    """Forget the last validation's metrics before the next one runs.

    Why: MMEngine keeps each metric in the message hub under ``val/KEY`` and
    logs every ``val/`` key the hub holds after a validation, so a key this
    validation left out was logged, and written to ``scalars.json``, with
    the last one's value: ``track/confidence_wrong: 0.0013`` beside
    ``track/accuracy: 1.0000``, where no track was wrong to have a
    confidence (``TrackAccuracyMetric`` leaves the key out then). The same
    for ``test/`` before a test.
    """

    priority = 'VERY_HIGH'

    def before_val_epoch(self, runner) -> None:
        _forget(runner.message_hub, 'val/')

    def before_test_epoch(self, runner) -> None:
        _forget(runner.message_hub, 'test/')


def _forget(hub, prefix: str) -> None:
    """Drop the hub's scalars under ``prefix`` (MMEngine has no call for it)."""
    for key in [k for k in hub.log_scalars if k.startswith(prefix)]:
        hub.log_scalars.pop(key)
        hub._resumed_keys.pop(key, None)
