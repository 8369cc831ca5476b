"""MMEngine's EarlyStoppingHook, whose patience survives a resume."""
import json
import logging
import math
import os.path as osp

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import EarlyStoppingHook as _MMEngineEarlyStoppingHook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from dld.registry import HOOKS
from dld.utils.atomic_file import write_json_atomic
from dld.utils.close_names import did_you_mean

from .resumed_validation_hook import RUN_ID_KEY

#: the record's default name in the work dir (reports read it: a run it stopped is finished)
RECORD = 'early_stopping.json'


@HOOKS.register_module()
class EarlyStoppingHook(_MMEngineEarlyStoppingHook):
    """:class:`mmengine.hooks.EarlyStoppingHook` (same arguments, same name,
    so ``dict(type='EarlyStoppingHook', ...)`` in DLD's scope gets this one)
    whose patience survives a resume.

    MMEngine's hook keeps its best score and its count of validations
    without improvement in memory only: a run stopped (Ctrl-C, a job's time
    limit) and resumed counted afresh, so it stopped later than the unbroken
    run; and ``--resume`` of a run it had stopped trained on for
    ``patience`` more validations. (The state cannot ride in the
    checkpoints: MMEngine saves epoch N's before validating it.) Here each
    validation's score is recorded in ``<work_dir>/<record>`` with the run's
    id; a resumed run replays the scores of the epochs up to the one it
    resumes at, and one the hook had stopped stops again before its first
    step, saying so. An ``IterBasedTrainLoop`` run's scores are keyed by
    iteration (its epoch is 0 throughout: each validation's score replaced
    the last, and a resume kept no patience).

    Args:
        record (str): name of the record in the work dir.
        **kwargs: :class:`mmengine.hooks.EarlyStoppingHook` arguments.
    """

    def __init__(self, *args, record: str = RECORD, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record = record
        self._initial = (self.best_score, self.wait_count)
        self._said_missing = False

    def _path(self, runner) -> str:
        return osp.join(runner.work_dir, self.record)

    def _scores(self, runner, say_older: bool = False) -> dict:
        path = self._path(runner)
        try:
            with open(path, encoding='utf-8') as f:
                saved = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(saved, dict) or saved.get('run_id') != runner.message_hub.get_info(
                RUN_ID_KEY) or saved.get('monitor') != self.monitor:
            return {}
        if saved.get('unit', 'epoch') != _unit(runner):
            if say_older and 'unit' not in saved:
                # an older DLD keyed an iteration-based run's scores by its epoch, 0:
                # the last validation's alone, at no known iteration
                print_log(f'{path} was written by an older DLD, which kept only the last '
                          "validation's score of an iteration-based run: EarlyStoppingHook's "
                          'patience counts afresh from this resume (the unbroken run may have '
                          'stopped sooner).', logger='current', level=logging.WARNING)
            return {}
        return {int(e): s for e, s in saved.get('scores', {}).items()}

    def before_train(self, runner) -> None:
        if runner.iter == 0:
            return
        # Rank 0 replays for every rank: the record is rank 0's (a node of
        # its own may not see it), and ResumedValidationHook's validation of
        # the resumed epoch, just before, has rank 0 write that epoch's score
        # while the others read on: a rank that read the record without it
        # trained on while rank 0 stopped, and the run hung.
        decision = [None]
        if is_main_process():
            decision[0] = self._replay(runner)
        broadcast_object_list(decision)
        self.best_score, self.wait_count, stop, message, at = decision[0]
        if stop:
            runner.train_loop.stop_training = True
            # at an earlier epoch where its settings changed (a lower patience)
            unit, now = _unit(runner), _progress(runner)
            where = ('where EarlyStoppingHook stopped the run' if at == now else
                     f'past {unit} {at}, where EarlyStoppingHook as set now stops the run')
            print_log(f'Resumed after {unit} {now}, {where} '
                      f'({message.strip()}): nothing is left to train. To train on, '
                      'raise its patience, or start a new schedule from the weights '
                      '(load_from=CHECKPOINT in a new work dir, without --resume).',
                      logger='current', level=logging.WARNING)

    def _replay(self, runner) -> tuple:
        """The best score, the count of validations without improvement,
        whether to stop, why and after which epoch, after the recorded scores of the epochs up
        to the one resumed at; a stop is recorded as the run's end."""
        self.best_score, self.wait_count = self._initial
        stop, message, at = False, '', None
        scores, now = self._scores(runner, say_older=True), _progress(runner)
        for epoch, score in sorted(scores.items()):
            if epoch > now or stop:
                break
            stop, message = self._check_stop_condition(
                float(score) if score is not None else math.nan)
            at = epoch
        if stop:
            self._write(runner, {e: s for e, s in scores.items() if e <= now},
                        stopped_after=now)
        return self.best_score, self.wait_count, stop, message, at

    def _write(self, runner, scores: dict, stopped_after) -> None:
        write_json_atomic(self._path(runner), dict(
            run_id=runner.message_hub.get_info(RUN_ID_KEY), monitor=self.monitor,
            unit=_unit(runner),  # what the scores' keys count
            scores={str(e): s for e, s in sorted(scores.items())},
            # the run ends here: a report of its checkpoints is of a finished run
            stopped_after=stopped_after))

    def after_val_epoch(self, runner, metrics) -> None:
        if self.monitor not in metrics and not self.strict:
            # MMEngine's warnings.warn came from every process, at every
            # validation, and the run trained on with no early stopping
            if not self._said_missing:
                self._said_missing = True
                hint = did_you_mean(self.monitor, metrics)
                print_log(f'EarlyStoppingHook: the validation metrics have no {self.monitor!r}'
                          f' (its monitor{"; " + hint if hint else ""}): it stops nothing. '
                          f'They are {", ".join(sorted(metrics))}.',
                          logger='current', level=logging.WARNING)
            return
        super().after_val_epoch(runner, metrics)
        now = _progress(runner)
        if is_main_process():
            scores = {e: s for e, s in self._scores(runner).items() if e < now}
            score = metrics[self.monitor]
            scores[now] = float(score) if score is not None else None
            stopped = bool(getattr(runner.train_loop, 'stop_training', False))
            self._write(runner, scores, now if stopped else None)
        stopped = bool(getattr(runner.train_loop, 'stop_training', False))
        last = (runner.max_iters if _unit(runner) == 'iteration' else runner.max_epochs
                ) if stopped else None
        # at the last validation the run ends anyway, its schedule at its end
        if stopped and now < last:
            print_log(f'EarlyStoppingHook stopped the run after {_unit(runner)} {now} of '
                      f'{last}: its learning-rate schedule (and a selector\'s '
                      'Gumbel temperature) did not reach their end. best.pth is the best '
                      'checkpoint by default_hooks.checkpoint.save_best; last_checkpoint '
                      'names the last.', logger='current', level=logging.WARNING)


def _unit(runner) -> str:
    """What the train loop's progress counts: ``'iteration'`` for an
    ``IterBasedTrainLoop`` (its epoch stays 0), else ``'epoch'``."""
    return 'iteration' if isinstance(getattr(runner, 'train_loop', None),
                                     IterBasedTrainLoop) else 'epoch'


def _progress(runner) -> int:
    """The loop's progress in its own unit: the iterations or epochs done
    (a checkpoint's, once resumed)."""
    return runner.iter if _unit(runner) == 'iteration' else runner.epoch
