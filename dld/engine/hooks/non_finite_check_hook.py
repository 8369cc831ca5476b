"""Stop a training run at the first step that leaves a NaN or infinity."""
import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from dld.registry import HOOKS
from dld.utils.finite import first_non_finite


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Raise at the first training step whose loss, or whose updated weights
    and statistics, hold a NaN or an infinity.

    Why: such a step poisons every later one, yet training goes on, the logs
    print ``loss: nan`` among other numbers, validation reads 0 % as a plain
    score, and each epoch's checkpoint (NaN weights) rotates a good one out
    of ``max_keep_ckpts``. Stopped here, before the epoch's checkpoint, the
    run keeps its last good checkpoint and says which it is.

    With float16 mixed precision the loss scaler skips steps whose gradients
    overflow, by design: there only the weights are checked.

    Args:
        interval (int): check the weights every ``interval`` iterations (the
            loss every iteration); one pass over them costs about as much as
            an optimiser step's arithmetic, so 1 is cheap for DLD's models.
    """

    priority = 'VERY_HIGH'  # before a checkpoint saved by iterations

    def __init__(self, interval: int = 1) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f'NonFiniteCheckHook: interval must be an int >= 1, '
                             f'got {interval!r}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        if loss is not None and not _scales_losses(runner):
            value = float(loss)
            if not math.isfinite(value):
                self._stop(runner, f'the loss is {value}')
        if self.every_n_train_iters(runner, self.interval):
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            bad = first_non_finite(model)
            if bad is not None:
                self._stop(runner, f'the step left {bad} holding NaN or infinity')

    @staticmethod
    def _stop(runner, what: str) -> None:
        last = runner.message_hub.get_info('last_ckpt')
        resume = (f'the last checkpoint, {last}, was saved before it: resume from it '
                  '(tools/train.py --resume) with a lower learning rate or stronger '
                  'gradient clipping (optim_wrapper.clip_grad)' if last else
                  'no checkpoint was saved yet: lower the learning rate or clip the '
                  'gradients (optim_wrapper.clip_grad) and train again')
        raise RuntimeError(
            f'Training diverged at epoch {runner.epoch + 1}, iteration {runner.iter + 1}: '
            f'{what}. Stopped before any checkpoint holds it; {resume}.')


def _scales_losses(runner) -> bool:
    """Whether the optimiser wrapper's loss scaler skips overflowing steps."""
    wrappers = getattr(runner.optim_wrapper, 'optim_wrappers', None)
    wrappers = wrappers.values() if wrappers else [runner.optim_wrapper]
    return any(getattr(w, 'loss_scaler', None) is not None for w in wrappers)
