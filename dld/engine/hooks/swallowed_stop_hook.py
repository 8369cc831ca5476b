"""Stop a run whose Ctrl-C or SIGTERM was swallowed where it arrived."""
from mmengine.hooks import Hook

from dld.registry import HOOKS
from dld.utils.stop_signals import raise_swallowed_stop


@HOOKS.register_module()
class SwallowedStopHook(Hook):
    """Raise, before the next step, a stop signal that a fork's callback
    swallowed (:func:`~dld.utils.stop_signals.raise_swallowed_stop`).

    Why: a Ctrl-C or SIGTERM arriving as a loader started its workers was
    printed as "Exception ignored in ... _releaseLock" and lost: the run
    validated on, then failed with a traceback (exit 1) on the workers the
    signal had killed, where it stops in one line (exit 130, 143).
    """

    priority = 'VERY_HIGH'

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        raise_swallowed_stop()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        raise_swallowed_stop()

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        raise_swallowed_stop()

    def before_test_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        raise_swallowed_stop()

    def after_val_epoch(self, runner, metrics=None) -> None:
        raise_swallowed_stop()
