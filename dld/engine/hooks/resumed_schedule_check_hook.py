"""Refuse to resume a run with another number of iterations per epoch."""
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from dld.registry import HOOKS

#: Runtime-info key (saved in every checkpoint): the run's iterations per epoch.
ITERS_PER_EPOCH_KEY = 'dld_iters_per_epoch'


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
    """

    # before_train before ResumedValidationHook (LOWEST) validates anything
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        now = len(loop.dataloader)
        before = runner.message_hub.get_info(ITERS_PER_EPOCH_KEY)
        if before is not None and int(before) != now:
            raise RuntimeError(
                f'Resumed at epoch {runner.epoch} of a run of {before} iterations per epoch, '
                f'but this one has {now} (another number of processes, batch size or '
                'training set than the checkpoint\'s run): its LR schedule and position '
                'count the first run\'s iterations, so the schedule would end at the wrong '
                'step. Resume with the same processes, batch size and data, or start a new '
                'schedule from its weights (load_from=CHECKPOINT, without --resume).')
        runner.message_hub.update_info(ITERS_PER_EPOCH_KEY, now)
