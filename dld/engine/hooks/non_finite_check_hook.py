"""Stop a training run at the first step that leaves a NaN or infinity."""
import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from dld.engine.checkpoint import resume_advice
from dld.registry import HOOKS
from dld.utils.finite import first_non_finite


class TrainingDivergedError(RuntimeError):
    """A loss or weight that is no longer finite: the run stops before a
    checkpoint holds it (tools/train.py says it in one line, exit status 1)."""


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Raise at the first training step whose loss, or whose updated weights
    and statistics, hold a NaN or an infinity, and before a checkpoint of
    such weights is written.

    Why: such a step poisons every later one, yet training goes on, the logs
    print ``loss: nan`` among other numbers, validation reads 0 % as a plain
    score, and each epoch's checkpoint (NaN weights) rotates a good one out
    of ``max_keep_ckpts``. Stopped here, the run keeps its last good
    checkpoint and says which it is.

    With a loss scaler (MMEngine's ``AmpOptimWrapper``, float16 on CUDA) an
    overflowing step is skipped by design: there a non-finite loss stops the
    run only after ``max_skipped_steps`` in a row (a scaler skipping every
    step trains nothing), and the weights are checked as always.

    Args:
        interval (int): check the weights every ``interval`` iterations (the
            loss every iteration, and the weights before every checkpoint).
            Only what a step can change is checked (parameters that train,
            statistics of modules in training mode), in one fused pass:
            about 1 ms for configs/dld_plate.py's model on one CPU thread,
            against about a second for its training step.
        max_skipped_steps (int): non-finite losses in a row that a loss
            scaler may skip.
    """

    priority = 'VERY_HIGH'  # before a checkpoint saved by iterations

    def __init__(self, interval: int = 1, max_skipped_steps: int = 50) -> None:
        for name, value in (('interval', interval), ('max_skipped_steps', max_skipped_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'NonFiniteCheckHook: {name} must be an int >= 1, '
                                 f'got {value!r}')
        self.interval = interval
        self.max_skipped_steps = max_skipped_steps
        self._non_finite_losses = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        if loss is not None:
            # detached: float() of a tensor that requires grad warns (once a run)
            value = float(loss.detach() if hasattr(loss, 'detach') else loss)
            self._non_finite_losses = 0 if math.isfinite(value) else self._non_finite_losses + 1
            allowed = self.max_skipped_steps if _scales_losses(runner) else 0
            if self._non_finite_losses > allowed:
                times = f' for {self._non_finite_losses} steps in a row' if allowed else ''
                self._stop(runner, f'the loss is {value}{times}')
        if self.every_n_train_iters(runner, self.interval):
            self._check_weights(runner, 'the step left')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.interval > 1:  # else the last step was checked
            self._check_weights(runner, 'the checkpoint to save has')

    def _check_weights(self, runner, what: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        bad = first_non_finite(model, changing_only=True)
        if bad is not None:
            self._stop(runner, f'{what} {bad} holding NaN or infinity')

    @staticmethod
    def _stop(runner, what: str) -> None:
        last = runner.message_hub.get_info('last_ckpt')
        resume = (f'the last checkpoint, {last}, was saved before it: tools/train.py '
                  f'{resume_advice(runner.work_dir, last)}; resume so with a lower learning '
                  'rate or stronger gradient clipping (optim_wrapper.clip_grad)' if last else
                  'no checkpoint was saved yet: lower the learning rate or clip the '
                  'gradients (optim_wrapper.clip_grad) and train again')
        raise TrainingDivergedError(
            f'Training diverged at epoch {runner.epoch + 1}, iteration {runner.iter + 1}: '
            f'{what}. Stopped before any checkpoint holds it; {resume}.')


def _scales_losses(runner) -> bool:
    """Whether the optimiser wrapper's loss scaler skips overflowing steps."""
    wrappers = getattr(runner.optim_wrapper, 'optim_wrappers', None)
    wrappers = wrappers.values() if wrappers else [runner.optim_wrapper]
    return any(getattr(w, 'loss_scaler', None) is not None for w in wrappers)
