"""Validate the epoch a run resumes at, when a crash cut its validation short."""
import json
import logging
import os
import os.path as osp
import re
import uuid
from typing import List, Optional

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from dld.registry import HOOKS
from dld.utils.atomic_file import write_json_atomic

#: Runtime-info key (saved in every checkpoint) naming the training run, so
#: that a marker left in the work dir by another run does not count.
RUN_ID_KEY = 'dld_run_id'


@HOOKS.register_module()
class ResumedValidationHook(Hook):
    """On ``--resume``, run the validation of the resumed epoch again if it
    had not finished.

    Why: MMEngine saves epoch ``e``'s checkpoint in ``after_train_epoch``,
    before epoch ``e`` is validated, and a resumed run continues at epoch
    ``e + 1``. A run that dies while validating epoch ``e`` would never
    validate it; after the last epoch, the resumed run ends at once, with no
    final metrics and no best checkpoint of the final weights.

    Each finished validation during training (``after_val``, so after the
    best checkpoint is written) is recorded in ``<work_dir>/<marker>``
    (written atomically, by rank 0) with the run's id, kept in the
    checkpoints' runtime info. Resumed at an epoch the loop validates after
    (``val_begin``, ``val_interval``, ``dynamic_intervals``, the last epoch),
    the hook validates it before training on unless the marker says this run
    validated that epoch (a later one is of a timeline rolled back from by
    resuming an older checkpoint: its best score was then tracked off the
    unbroken run's). A missing or unreadable marker (a
    checkpoint from another work dir, say) means validating again: costly at
    worst, never a lost result. Rank 0 decides for all ranks.

    An ``IterBasedTrainLoop`` (and its subclasses) is handled alike, by
    iteration: MMEngine saves iteration ``i``'s checkpoint in
    ``after_train_iter`` and validates it after, so a run killed in that
    validation resumed at ``i + 1`` without it (and ``EarlyStoppingHook``,
    missing its score, stopped later than the unbroken run).

    Args:
        marker (str): name of the record in the work dir.
    """

    # before_train after every other hook (CheckpointHook reads the best
    # score back first); after_val once the best checkpoint is written.
    priority = 'LOWEST'

    def __init__(self, marker: str = 'last_validation.json') -> None:
        self.marker = marker
        self._training = False

    def before_train(self, runner) -> None:
        # Rank 0's id and decision, for every rank: a fresh run draws its id
        # here, and ranks that validated on their own would hang the others.
        decision = [runner.message_hub.get_info(RUN_ID_KEY) or uuid.uuid4().hex, False]
        if is_main_process():
            decision[1] = self._interrupted_validation(runner, decision[0])
        broadcast_object_list(decision)
        run_id, validate = decision
        runner.message_hub.update_info(RUN_ID_KEY, run_id)
        self._training = True
        if validate:
            record = self._read(runner) or {}
            unit, key, now = _unit(runner)
            later = record.get('run_id') == run_id and isinstance(record.get(key), int) \
                and record[key] > now
            left = _later_best_checkpoints(runner.work_dir, now, key) if later else []
            kept = (f'; {", ".join(left)}, of the {unit}s rolled back from, '
                    f"{'stays' if len(left) == 1 else 'stay'} beside the best this run keeps"
                    if left else '')
            said = (f'Resumed at {unit} {now} of a run rolled back from a later {unit} '
                    f"({self._path(runner)} records {unit} {record[key]}'s validation): "
                    f'validating it now, as the run did then{kept}' if later else
                    f'Resumed at {unit} {now}, whose validation may not have finished '
                    f'(no record of it in {self._path(runner)}; a checkpoint of another work '
                    'dir or of an older DLD has none either): validating it now')
            print_log(f'{said}.', logger='current', level=logging.WARNING)
            _restore_last_checkpoint(runner)
            runner.val_loop.run()

    def after_val(self, runner) -> None:
        if self._training and is_main_process():
            write_json_atomic(self._path(runner), dict(
                run_id=runner.message_hub.get_info(RUN_ID_KEY), epoch=runner.epoch,
                iter=runner.iter))

    def after_train(self, runner) -> None:
        self._training = False

    def _path(self, runner) -> str:
        return osp.join(runner.work_dir, self.marker)

    def _interrupted_validation(self, runner, run_id: str) -> bool:
        loop = runner.train_loop
        if not isinstance(loop, (EpochBasedTrainLoop, IterBasedTrainLoop)) or \
                runner.val_loop is None:
            return False
        _, key, now = _unit(runner)
        if now == 0 or not _validates_after(loop, now):
            return False
        record = self._read(runner)
        # that epoch exactly: a later one is of a timeline the run was rolled
        # back from (--resume epoch_2.pth), whose epochs after it are not this one's
        return not (record and record.get('run_id') == run_id
                    and isinstance(record.get(key), int) and record[key] == now)

    def _read(self, runner) -> Optional[dict]:
        path = self._path(runner)
        if not osp.isfile(path):
            return None
        try:
            with open(path, encoding='utf-8') as f:
                record = json.load(f)
        except (OSError, ValueError, RecursionError) as err:  # nested too deeply
            print_log(f'Cannot read {path} ({err}); treating the resumed epoch as not '
                      'validated.', logger='current', level=logging.WARNING)
            return None
        return record if isinstance(record, dict) else None


def _unit(runner) -> tuple:
    """The train loop's unit, its key in the marker and the progress made in
    it: ``('epoch', 'epoch', runner.epoch)``, or ``('iteration', 'iter',
    runner.iter)`` for an ``IterBasedTrainLoop`` (whose epoch stays 0)."""
    if isinstance(getattr(runner, 'train_loop', None), IterBasedTrainLoop):
        return 'iteration', 'iter', runner.iter
    return 'epoch', 'epoch', runner.epoch


def _later_best_checkpoints(work_dir: str, epoch: int, key: str = 'epoch') -> List[str]:
    """The best checkpoints of ``work_dir`` saved after ``epoch``
    (``best_<key>_epoch_N.pth``, N > epoch; ``_iter_N`` with ``key='iter'``),
    by name: a rollback leaves them, which MMEngine's best tracking no longer
    knows of."""
    try:
        names = os.listdir(work_dir)
    except OSError:
        return []
    return sorted(n for n in names if (m := re.fullmatch(rf'best_.+_{key}_(\d+)\.pth', n))
                  and int(m.group(1)) > epoch)


def _restore_last_checkpoint(runner) -> None:
    """Give each CheckpointHook back the checkpoint it saved before the
    validation, as in the unbroken run.

    Why: a new best score is written into that checkpoint again (MMEngine
    re-saves it when it knows it, ``last_ckpt``); without it, a second
    resume from it would compare later scores with the best before.
    """
    last = runner.message_hub.get_info('last_ckpt')
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook) and last and hook.last_ckpt is None:
            hook.last_ckpt = last


def _validates_after(loop, epoch: int) -> bool:
    """Whether ``loop`` validates once epoch (an ``IterBasedTrainLoop``'s
    iteration) ``epoch`` is trained: its own test in ``run``, with
    ``loop.epoch`` (``loop.iter``) ``== epoch`` as it is there."""
    decide = getattr(loop, '_decide_current_val_interval', None)
    if decide is not None:
        decide()
    last = loop.max_iters if isinstance(loop, IterBasedTrainLoop) else loop.max_epochs
    return epoch >= loop.val_begin and (epoch % loop.val_interval == 0 or epoch == last)
