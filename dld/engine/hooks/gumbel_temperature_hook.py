"""Anneals the Gumbel-softmax temperature of the resolution selector."""
import logging
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from dld.models.losses.functional.weights import check_temperature
from dld.registry import HOOKS
from dld.utils.flags import check_flag

from ..runner_settings import ConfigSettingError

SCHEDULES = ('exp', 'linear', 'cosine')
#: Runtime-info key (saved in every checkpoint): the length the run's
#: temperature anneals over, ``{'max_iters': ..., 'max_epochs': ...}``.
LENGTH_KEY = 'dld_gumbel_length'


@HOOKS.register_module()
class GumbelTemperatureHook(Hook):
    """Sets ``model.selector.tau`` before every training iteration.

    ``tau`` moves from ``start`` (soft, exploratory samples) to ``end``
    (nearly discrete) over training; progress ``p`` is
    ``iter / (max_iters - 1)`` (or ``epoch / (max_epochs - 1)`` with
    ``by_epoch``), so the first iteration uses ``start`` and the last ``end``:

    * ``'exp'``: ``start * (end / start) ** p`` (geometric);
    * ``'linear'``: ``start + (end - start) * p``;
    * ``'cosine'``: ``end + (start - end) * (1 + cos(pi * p)) / 2``.

    The value is logged as ``train/gumbel_tau``.

    A resumed run anneals over the length the run started with, as it keeps
    the learning-rate schedule its checkpoint was saved with: resumed with a
    larger ``max_epochs``, the temperature stays at ``end`` past it (it went
    back up from ``end`` and annealed again, while the learning rate stayed
    at its one-cycle end), and this is said. A checkpoint without the
    record (an older DLD's) anneals over the length its run had when it was
    saved, which MMEngine's runtime info keeps (``max_iters``,
    ``max_epochs``): the length that run's temperature annealed over (it
    re-annealed over the config's new length, jumping back up).

    Args:
        start: temperature at the beginning (> 0).
        end: temperature at the end (> 0).
        schedule: ``'exp'``, ``'linear'`` or ``'cosine'``.
        by_epoch: progress by epoch (constant within an epoch) instead of by
            iteration.
    """

    priority = 'NORMAL'

    def __init__(self, start: float = 5.0, end: float = 0.5, schedule: str = 'exp',
                 by_epoch: bool = False) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f'schedule must be one of {SCHEDULES}, got {schedule!r}')
        # inf or NaN set tau to NaN, and every decision with it; '5' was
        # "'<=' not supported between instances of 'str' and 'int'"
        self.start = check_temperature(start, 'GumbelTemperatureHook.start')
        self.end = check_temperature(end, 'GumbelTemperatureHook.end')
        self.schedule = schedule
        self.by_epoch = check_flag(by_epoch, 'GumbelTemperatureHook.by_epoch')

    def temperature(self, progress: float) -> float:
        """``tau`` at ``progress`` in ``[0, 1]`` (clipped)."""
        p = min(max(progress, 0.0), 1.0)
        if self.schedule == 'exp':
            return self.start * (self.end / self.start)**p
        if self.schedule == 'linear':
            return self.start + (self.end - self.start) * p
        return self.end + (self.start - self.end) * (1 + math.cos(math.pi * p)) / 2

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """A checkpoint saved before the length was recorded (an older
        DLD's): the length its run annealed over is the run's ``max_iters``
        and ``max_epochs`` as MMEngine's ``RuntimeInfoHook`` saved them,
        given to the resumed run as this hook's record."""
        hub = checkpoint.get('message_hub') if isinstance(checkpoint, dict) else None
        info = hub.get('runtime_info') if isinstance(hub, dict) else None
        if not isinstance(info, dict) or LENGTH_KEY in info:
            return
        length = {k: info.get(k) for k in ('max_iters', 'max_epochs')}
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0
               for v in length.values()):
            info[LENGTH_KEY] = length  # restored with the message hub, read by before_train

    def before_train(self, runner) -> None:
        self._selector(runner)  # fail before the first iteration, not mid-run
        now = dict(max_iters=int(runner.max_iters), max_epochs=int(runner.max_epochs))
        saved = runner.message_hub.get_info(LENGTH_KEY) if runner.iter > 0 else None
        if not isinstance(saved, dict) or not all(
                isinstance(saved.get(k), int) and saved[k] > 0 for k in now):
            saved = now  # a run's start (or a checkpoint of neither record): the config's length
        self._length = saved
        runner.message_hub.update_info(LENGTH_KEY, dict(saved))
        unit = 'max_epochs' if self.by_epoch else 'max_iters'
        if saved[unit] != now[unit] and self._anneals(runner):
            units = 'iterations' if unit == 'max_iters' else 'epochs'
            after = (f'reaches its end ({self.end:g}) after {saved[unit]} {units} and stays '
                     'there' if now[unit] > saved[unit] else
                     f'stops after {now[unit]}, before its end ({self.end:g})')
            print_log(f'Resumed to train {now[unit]} {units} (train_cfg) where the run started '
                      f"with {saved[unit]}: the selector's Gumbel temperature keeps the "
                      'schedule the run started with, as the learning rate does, and '
                      f'{after}. To anneal over the new length, start a new schedule from its '
                      'weights (load_from=CHECKPOINT in a new work dir, without --resume).',
                      logger='current', level=logging.WARNING)

    @staticmethod
    def _anneals(runner) -> bool:
        """Whether the run's selector draws Gumbel samples this hook anneals."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return getattr(model, 'train_selector', True) is not False and \
            getattr(model, 'selector_decisions', 'gumbel') != 'expected'

    def before_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'train_selector', True) is False:
            return  # a frozen selector (the student stage) draws no samples: nothing to anneal
        if getattr(model, 'selector_decisions', 'gumbel') == 'expected':
            # the loss takes the softmax's expectation, drawing no sample: a
            # logged gumbel_tau had no effect (the selector stage's configs)
            return
        # the length the run started with (before_train's; a hook driven
        # without it, the runner's)
        length = getattr(self, '_length', None) or dict(max_iters=runner.max_iters,
                                                        max_epochs=runner.max_epochs)
        if self.by_epoch:
            progress = runner.epoch / max(length['max_epochs'] - 1, 1)
        else:
            progress = runner.iter / max(length['max_iters'] - 1, 1)
        tau = self.temperature(progress)
        self._selector(runner).tau = tau
        runner.message_hub.update_scalar('train/gumbel_tau', tau)

    @staticmethod
    def _selector(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        selector = getattr(model, 'selector', None)
        if selector is None or not hasattr(selector, 'tau'):
            raise ConfigSettingError(
                f'GumbelTemperatureHook needs the model to have a `selector` with a `tau` '
                f'attribute (a ResolutionSelector), but {type(model).__name__} has '
                f'{"no `selector`" if selector is None else "a selector without `tau`"}. '
                'Remove the hook from `custom_hooks` for a model without a selector, or '
                'one whose selector draws no Gumbel samples (no `tau` to anneal).')
        return selector


def warn_if_not_annealed(runner) -> None:
    """Say when a run trains its selector on Gumbel-softmax samples with no
    hook annealing their temperature: a config whose ``custom_hooks``
    replaces the list (rather than adding to it) drops the shipped one,
    and training otherwise goes on at the selector's initial ``tau``."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not (getattr(model, 'train_selector', False)
            and getattr(model, 'selector_decisions', None) == 'gumbel'
            and hasattr(getattr(model, 'selector', None), 'tau')):
        return
    if any(isinstance(hook, GumbelTemperatureHook) for hook in runner.hooks):
        return
    print_log(f'The selector trains on Gumbel-softmax samples at a fixed tau='
              f'{model.selector.tau}: no GumbelTemperatureHook anneals it (custom_hooks '
              "replaced the base config's list?); add dict(type='GumbelTemperatureHook') "
              'to custom_hooks to anneal it.', logger='current', level=logging.WARNING)
