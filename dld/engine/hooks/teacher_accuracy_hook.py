"""The frozen teacher's own score on the validation split, once per run."""
import copy
import logging
from typing import Dict, Optional

import torch
from mmengine.evaluator import Evaluator
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from dld.registry import HOOKS

#: The message hub's runtime-info key the teacher's metrics are kept under
#: (saved with every checkpoint, so a resumed run does not read them again).
INFO_KEY = 'teacher_val_metrics'


@HOOKS.register_module()
class TeacherAccuracyHook(Hook):
    """Reads the validation split once with a DLD run's frozen teacher, on
    the stream it distils from (the HR frames, ``teacher_input='hr'``), and
    logs its scores beside the student's at every validation
    (``teacher/plate/accuracy``, ... in the log line and ``scalars.json``),
    so the gap the student is asked to close is known before training.

    Why: a weak teacher (stopped on the attention decoder's plateau) or one
    of another domain (trained on other plates, another style) loads without
    an error and is distilled from for the whole run; only the student's
    scores were logged, and the teacher's showed up in
    ``tools/flops_accuracy.py`` after training. An HR teacher whose plate
    accuracy is under ``min_accuracy`` is warned of (not an LR one, a trained
    LR student, which reads less by nature), with what its own
    training run recorded where its checkpoint says (a teacher that read 95 %
    of its own validation set and 3 % of this one reads another domain).

    The teacher is frozen, so it is read once (before the first step; a
    resumed run takes the figures its checkpoint holds). Every process reads
    its share of the set and the evaluator gathers them, as a validation
    does. A model without a teacher (a plain recognizer) is left alone.

    Args:
        min_accuracy (float): below this plate accuracy (a fraction) the
            teacher is warned of. 0 turns the warning off.
        key (str): the teacher's metric compared (the first plate metric's
            accuracy by default).
    """

    priority = 'NORMAL'  # after RuntimeInfoHook puts val/ metrics in the hub, before the logger

    def __init__(self, min_accuracy: float = 0.5, key: str = 'plate/accuracy') -> None:
        if isinstance(min_accuracy, bool) or not 0 <= float(min_accuracy) <= 1:
            raise ValueError(f'TeacherAccuracyHook: min_accuracy is a fraction in [0, 1], got '
                             f'{min_accuracy!r}')
        self.min_accuracy = float(min_accuracy)
        self.key = key
        self.metrics: Optional[Dict[str, float]] = None
        self._stream = 'HR'

    # ------------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        model = _unwrapped(runner.model)
        if not isinstance(getattr(model, 'teacher', None), torch.nn.Module):
            return
        self._stream = 'HR' if getattr(model, 'teacher_input', 'hr') == 'hr' else 'LR'
        finished = _finished(runner)  # a finished run resumed: nothing to train
        kept = runner.message_hub.get_info(INFO_KEY)
        if runner._resume and isinstance(kept, dict) and kept:
            # resumed: the same frozen teacher, read already (kept for a finished
            # run too: ResumedValidationHook may validate its last epoch again,
            # whose line the unbroken run gave the teacher's figures)
            self.metrics = dict(kept)
            if not finished:
                self._say(model, _teacher_source(runner), ' (read when the run started)')
            return
        if finished:
            return
        if not bool(getattr(model, 'teacher_loaded', True)):
            return  # the first step refuses it: nothing to read
        from dld.utils.seeded_random import global_random_kept
        with global_random_kept():  # training draws as it would without this read
            self.metrics = self.read(runner, model)
        if self.metrics is None:
            return
        runner.message_hub.update_info(INFO_KEY, self.metrics)
        runner.visualizer.add_scalars({f'teacher/{k}': v for k, v in self.metrics.items()},
                                      step=0)
        self._say(model, _teacher_source(runner))

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not self.metrics:
            return
        for k, v in self.metrics.items():  # logged with this validation's line
            if k.split('/')[-1].startswith('num_'):  # the counts: said at the start
                continue
            runner.message_hub.update_scalar(f'val/teacher/{k}', v)
        student = (metrics or {}).get(self.key)
        teacher = self.metrics.get(self.key)
        if isinstance(student, (int, float)) and teacher is not None:
            print_log(f'{self.key}: student {100 * student:.1f} %, teacher on its '
                      f'{self._stream} frames {100 * teacher:.1f} % (gap '
                      f'{100 * (teacher - student):+.1f} pt)', logger='current')

    # ------------------------------------------------------------------ work
    def read(self, runner, model) -> Optional[Dict[str, float]]:
        """The teacher's metrics on the validation loader (HR frames added
        for an HR teacher); None, said, where there is none to read."""
        from mmengine.runner import Runner

        from dld.apis.model_loading import with_hr_frames
        from dld.evaluation.metrics.text_metric import TextMetric
        cfg = runner.cfg
        loader_cfg, evaluator_cfg = cfg.get('val_dataloader'), cfg.get('val_evaluator')
        if not loader_cfg or not evaluator_cfg:
            return None
        loader_cfg = copy.deepcopy(loader_cfg)
        if self._stream == 'HR':
            try:
                loader_cfg = with_hr_frames(loader_cfg)
            except ValueError as err:
                print_log(f"TeacherAccuracyHook: the teacher's validation score is not read: "
                          f'{err}', logger='current', level=logging.WARNING)
                return None
        # the metrics of readings only (plates, tracks): not a distiller's costs
        # (ReadingCostMetric), nor one that writes a file (DumpReadings)
        evaluator = Evaluator(copy.deepcopy(evaluator_cfg))
        evaluator.metrics = [m for m in evaluator.metrics if isinstance(m, TextMetric)]
        if not evaluator.metrics:
            return None
        # read once: workers kept would wait for the garbage collector
        loader_cfg['persistent_workers'] = False
        loader = Runner.build_dataloader(loader_cfg, seed=runner.seed)
        evaluator.dataset_meta = getattr(loader.dataset, 'metainfo', None)
        # the pause before the first step said (seconds on the shipped set)
        print_log(f'Reading the validation set with the frozen teacher '
                  f'({len(loader.dataset)} images, {self._stream} frames) before the first '
                  'step (default_hooks.teacher_accuracy=None skips it)', logger='current')
        teacher = model.teacher
        # each module's mode, restored after (teacher_norm_eval=False keeps
        # the teacher's BatchNorm layers alone in train mode)
        modes = [(m, m.training) for m in teacher.modules()]
        teacher.eval()
        try:
            with torch.no_grad():
                for batch in loader:
                    data = model.data_preprocessor(batch, False)
                    samples = data['data_samples']
                    if self._stream == 'HR':
                        if data.get('inputs_hr') is None:
                            print_log("TeacherAccuracyHook: the validation set gives no HR "
                                      "frames: the teacher's score is not read.",
                                      logger='current', level=logging.WARNING)
                            return None
                        for ds in samples:  # ResizePair stretches HR: no padding
                            ds.set_metainfo(dict(valid_ratio=1.0))
                    x = model.teacher_view(data['inputs'], data.get('inputs_hr'))
                    evaluator.process(teacher.predict(x, samples), batch)
            metrics = evaluator.evaluate(len(loader.dataset))
        finally:
            for module, mode in modes:
                module.training = mode
        out = {k: (v.item() if torch.is_tensor(v) else v) for k, v in metrics.items()
               if isinstance(v, (int, float)) or (torch.is_tensor(v) and v.numel() == 1)}
        costs = getattr(model, 'costs', None)
        flops = getattr(costs, 'teacher_flops', None)
        if flops:
            out['gflops'] = float(flops) / 1e9
        return out

    def _say(self, model, source: str, when: str = '') -> None:
        value = self.metrics.get(self.key)
        shown = ', '.join(f'{k}: {v:.4f}' for k, v in self.metrics.items()
                          if not k.split('/')[-1].startswith('num_'))
        print_log(f'The teacher on the validation set ({self._stream} frames){when}: {shown}',
                  logger='current')
        if value is None or value >= self.min_accuracy or self._stream != 'HR':
            return  # an LR teacher (a trained LR student) reads less by nature
        own = getattr(model.teacher, 'own_validation', None)
        history = (f'; its own training run {own[2]}, so it reads another kind of plate than '
                   "this run's (another domain, style, layout or size?)"
                   if own and own[0] >= self.min_accuracy else
                   f'; its own training run {own[2]}' if own else '')
        print_log(f'The teacher reads {100 * value:.1f} % ({self.key}) of this run\'s '
                  f'validation set on its {self._stream} frames, under '
                  f'{100 * self.min_accuracy:.0f} %{history}. The student learns its '
                  f'readings: a weak teacher teaches little. Check {source} (the checkpoint '
                  'meant? the dictionary it was trained with?), train the teacher longer or '
                  'on this data (default_hooks.teacher_accuracy.min_accuracy sets this '
                  'threshold).', logger='current', level=logging.WARNING)


def _teacher_source(runner) -> str:
    """Where the teacher's weights came from, in the words the weak-teacher
    warning names it: ``model.teacher_ckpt``, or the checkpoint the run
    starts from (``load_from`` with ``model.teacher_ckpt=None``, or a
    resumed one: the run goes on with its teacher)."""
    path = runner._load_from
    if path and (runner._resume or not (runner.cfg.get('model') or {}).get('teacher_ckpt')):
        return (f'the teacher of the checkpoint resumed, {path}' if runner._resume else
                f'the teacher of load_from, {path}, which model.teacher_ckpt=None takes')
    return 'model.teacher_ckpt'


def _finished(runner) -> bool:
    """Whether the resumed run has nothing left to train, in its loop's unit
    (an epoch-based run's iterations depend on the batch size it resumes with)."""
    from mmengine.runner import EpochBasedTrainLoop
    if isinstance(getattr(runner, 'train_loop', None), EpochBasedTrainLoop):
        return runner.epoch >= runner.max_epochs
    return runner.iter >= runner.max_iters


def _unwrapped(model):
    return model.module if is_model_wrapper(model) else model
