"""Refuse to resume a run with another number of iterations per epoch, and
warn of a learning-rate schedule that ends before training does."""
import json
import logging
import math

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from dld.registry import HOOKS
from dld.utils.listing import first_and_more

#: Runtime-info key (saved in every checkpoint): the run's iterations per epoch.
ITERS_PER_EPOCH_KEY = 'dld_iters_per_epoch'
#: Runtime-info key: the ``param_scheduler`` settings the run's schedule was built from.
SCHEDULE_KEY = 'dld_param_scheduler'


class ResumedScheduleError(RuntimeError):
    """A run resumed with another number of iterations per epoch than the
    checkpoint's (``tools/train.py`` says it in one line)."""


@HOOKS.register_module()
class ResumedScheduleCheckHook(Hook):
    """Stop a resumed run whose epochs have another number of iterations
    than the run it resumes, before its first step.

    Why: the LR schedule (``convert_to_iter_based``) and the position the
    run resumes at are counted in the first run's iterations. Resumed with
    another number of processes, another batch size or another training
    set, the schedule ends at the wrong step: a 2-process run resumed by one
    process trained its last epoch at a learning rate of 4e-9, silently.
    Checkpoints record the run's iterations per epoch; one without the
    record (saved by an older DLD) is not checked.

    Epoch-based loops only (``EpochBasedTrainLoop`` and its subclasses).

    It also warns when the learning-rate schedule, as built or as a resumed
    checkpoint restored it, ends before the last iteration: from there the
    learning rate stays at its last value, near 0 after a one-cycle anneal.
    A finished run resumed with a larger ``max_epochs`` trained its extra
    epochs at 4e-9 without a word: a resumed run keeps the schedule it was
    saved with, whatever the config now says.
    """

    # before_train before ResumedValidationHook (LOWEST) validates anything
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        now = len(loop.dataloader)
        if not now:  # it trained nothing, said nothing
            raise ResumedScheduleError(
                'The training set gives no batch (fewer items than train_dataloader.'
                'batch_size, with drop_last=True?): the run would train nothing.')
        before = runner.message_hub.get_info(ITERS_PER_EPOCH_KEY)
        if before is not None and int(before) != now:
            raise ResumedScheduleError(
                f'Resumed at epoch {runner.epoch} of a run of {before} iterations per epoch, '
                f'but this one has {now} (another number of processes, batch size or '
                'training set than the checkpoint\'s run): its LR schedule and position '
                'count the first run\'s iterations, so the schedule would end at the wrong '
                'step. Resume with the same processes, batch size and data, or start a new '
                'schedule from its weights (load_from=CHECKPOINT, without --resume).')
        runner.message_hub.update_info(ITERS_PER_EPOCH_KEY, now)
        # within an epoch of this run's length (a checkpoint without the record of
        # its own, an older DLD's, of another length is not checked, as above)
        # after an epoch's last iteration too: saved by iteration, it is saved before
        # the epoch's end (its count not moved on), and the epoch would train again
        if 0 < runner.iter - runner.epoch * now <= now and runner.iter < runner.max_iters:
            refuse_resuming_mid_epoch(runner, now)
        check_resumed_schedule_settings(runner)
        if runner.iter > 0 and runner.iter >= runner.max_iters:
            # --resume of a finished run trained nothing and said nothing
            epoch = runner.epoch
            if epoch < runner.max_epochs:
                # the run's last checkpoint by iteration: saved after the last
                # iteration but before the epoch's end (its count not moved on), the
                # loop trained the last epoch again, past the schedule, and rotated
                # the run's last checkpoints out. Its training is done: the loop
                # stands at its end (and validates it where that did not finish).
                epoch = loop._epoch = runner.max_epochs
            ends = 'there' if epoch == runner.max_epochs else 'before it'
            print_log(f'Resumed after epoch {epoch}, and train_cfg.max_epochs='
                      f'{runner.max_epochs} ends the run {ends}: nothing is left to train. '
                      'To train longer, start '
                      'a new schedule from its weights (load_from=CHECKPOINT in a new work '
                      'dir, without --resume).', logger='current', level=logging.WARNING)
            return
        warn_schedule_ending_early(runner, now)


def refuse_resuming_mid_epoch(runner, iters_per_epoch: int) -> None:
    """An epoch-based loop starts an epoch at its first batch: resumed from
    a checkpoint saved within an epoch (``iter_N.pth`` of checkpoints by
    iteration), it trained the epoch's first batches twice and ended past
    its schedule, at the schedule's last learning rate, with a negative ETA,
    without a word."""
    done = runner.iter - runner.epoch * iters_per_epoch
    # train() again on a runner whose training stopped (a notebook): DLDRunner
    # counts its train() calls; a plain Runner's is told by resume not being set
    calls = getattr(runner, 'train_calls', None)
    if (calls > 1) if calls is not None else not runner._resume:
        raise ResumedScheduleError(
            f'This runner\'s training stopped within epoch {runner.epoch + 1}, after '
            f'iteration {done} of its {iters_per_epoch}: train() again would start that '
            'epoch over, its batches twice. Build a new runner that resumes from the last '
            'checkpoint (resume=True).')
    # after the epoch's last iteration: a run's last checkpoint by iteration, resumed
    # to train longer (the advice named "a run's last one" as one that resumes)
    longer = (' A run\'s last checkpoint by iteration resumes only where nothing is left '
              'to train; to train longer, start a new schedule from its weights '
              '(load_from=CHECKPOINT in a new work dir, without --resume).'
              if done == iters_per_epoch else '')
    raise ResumedScheduleError(
        f'The checkpoint this run resumes was saved within epoch {runner.epoch + 1}, after '
        f'iteration {done} of its {iters_per_epoch} (iteration {runner.iter} of the run): an '
        'epoch-based run starts an epoch at its first batch, so those batches would train '
        f'twice and the run end {done} iteration(s) past its schedule. Resume from a '
        "checkpoint saved at an epoch's end (epoch_N.pth). MMEngine saves a checkpoint by "
        "iteration before its epoch ends, even after the epoch's last iteration, so none "
        'resumes an epoch-based run: for checkpoints that do, save by epoch '
        '(default_hooks.checkpoint.by_epoch=True).' + longer)


def check_resumed_schedule_settings(runner) -> None:
    """Warn of ``param_scheduler`` settings changed since the checkpoint a run
    resumes: the schedule is restored as it was saved, so a new ``eta_max``
    (say) was not used, without a word. Checkpoints record the settings;
    one without the record (saved by an older DLD) is not checked."""
    try:
        now = _plain(runner.cfg.get('param_scheduler'))
    except (TypeError, ValueError):  # settings JSON cannot hold (a tuple as a key): unchecked
        return
    saved = runner.message_hub.get_info(SCHEDULE_KEY)
    if runner.iter > 0:
        changed = [] if saved is None else _differences(saved, now, 'param_scheduler')
        if changed:
            print_log(f"Resumed with param_scheduler settings other than the checkpoint's run "
                      f"({first_and_more(changed, 4, sep='; ')}): a resumed run restores the "
                      'schedulers its checkpoint saved, so changes to their settings are not '
                      'used. To train with them, start a new schedule from its weights '
                      '(load_from=CHECKPOINT in a new work dir, without --resume).',
                      logger='current', level=logging.WARNING)
        return  # the saved schedule goes on: its record stays (none: unknown, unchecked)
    runner.message_hub.update_info(SCHEDULE_KEY, now)


def _plain(value):
    """Settings as plain JSON values (a checkpoint loads them weights-only);
    a function by its name, not its address, which changes from run to run."""
    return json.loads(json.dumps(value, default=_name_of))


def _name_of(obj) -> str:
    name = getattr(obj, '__qualname__', None)
    return f'{obj.__module__}.{name}' if name else type(obj).__name__


def _differences(before, now, path: str) -> list:
    """``'path: before -> now'`` for each setting that differs."""
    if isinstance(before, dict) and isinstance(now, dict):
        return [d for key in sorted(set(before) | set(now), key=str)
                for d in _differences(before.get(key), now.get(key), f'{path}.{key}')]
    if isinstance(before, list) and isinstance(now, list) and len(before) == len(now):
        return [d for i, (b, n) in enumerate(zip(before, now))
                for d in _differences(b, n, f'{path}.{i}')]
    same = before == now or (isinstance(before, float) and isinstance(now, float)
                             and math.isnan(before) and math.isnan(now))
    return [] if same else [f'{path}: {before!r} -> {now!r}']


def warn_schedule_ending_early(runner, iters_per_epoch: int) -> None:
    """Warn when the last of the run's schedulers ends before its last iteration."""
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    ends = []
    for scheduler in schedulers:
        end = getattr(scheduler, 'end', math.inf)
        if not math.isfinite(end):
            return  # a scheduler that never ends sets the rate to the last step
        ends.append((end * iters_per_epoch if getattr(scheduler, 'by_epoch', False) else end,
                     scheduler))
    if not ends:
        return
    end, last = max(ends, key=lambda e: e[0])
    if end >= runner.max_iters or not _anneals(last):
        return  # a warmup that ends early leaves the base rate, by design
    end = int(end)
    last = 'its last value'
    if runner.iter >= end and hasattr(runner.optim_wrapper, 'get_lr'):  # it has ended
        last = ', '.join(f'{v[0]:.3g}' for v in runner.optim_wrapper.get_lr().values() if v)
    resumed = runner.iter > 0
    why = ('A resumed run keeps the schedule its checkpoint was saved with, whatever the '
           'config says now; to train longer, start a new schedule from its weights '
           '(load_from=CHECKPOINT in a new work dir, without --resume).' if resumed else
           'Set the schedule\'s end to train_cfg.max_epochs (param_scheduler.N.end).')
    print_log(f'The learning-rate schedule ends at iteration {end} (epoch '
              f'{end / iters_per_epoch:g}), before training does (iteration {runner.max_iters}, '
              f'epoch {runner.max_epochs}): from there the learning rate stays at {last}. '
              + why, logger='current', level=logging.WARNING)


def _anneals(scheduler) -> bool:
    """Whether ``scheduler`` leaves the rate below where it found it: a
    warmup (``LinearLR`` rising, ``ConstantLR``) does not."""
    name = type(scheduler).__name__
    if name.startswith('Constant'):
        return False
    if name.startswith('Linear'):
        return getattr(scheduler, 'end_factor', 1.0) < getattr(scheduler, 'start_factor', 1.0)
    return True
