"""Whether the checkpoint a run starts from (``load_from``, ``--resume``) fits its model.

MMEngine loads both leniently: it prints the keys that differ and trains on.
A ``load_from`` of another model (a teacher's checkpoint for a DLD stage, a
student of other widths) then trains from random weights, and a resume with
a changed model validates a half-loaded one before failing in the optimiser
with an unrelated message. Checked here before training, on a copy of the
model, so that its own loading rules (per-scale BatchNorm statistics from a
plain BatchNorm's, a training-only head dropped) apply.
"""
import contextlib
import copy
import functools
import logging
import os.path as osp
import re
from typing import Any, Iterator, List, Mapping, Optional

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.model import is_model_wrapper

from .checkpoint import (
    CheckpointReadError,
    CheckpointURLError,
    checked_checkpoint_path,
    numbered_checkpoints,
)
from .runner_settings import ConfigSettingError


class StartCheckpointError(RuntimeError):
    """The checkpoint a run starts from does not fit its model."""


@contextlib.contextmanager
def _info_unlogged() -> Iterator[None]:
    """The current logger without its INFO lines for a while."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def check_start_path(path: str, resume: bool) -> str:
    """``path`` as the loaders read it (``~`` expanded); raise
    :class:`StartCheckpointError` where it is a URL, a folder or no file:
    what ``tools/train.py`` refuses at once, before anything is built."""
    flag = 'the checkpoint --resume continues' if resume else 'load_from'
    try:
        return checked_checkpoint_path(path)  # the loaders' own checks, in the tool's words
    except CheckpointURLError as err:
        raise StartCheckpointError(f'{flag}: {err}') from None
    except IsADirectoryError:
        raise StartCheckpointError(f'{flag} ({osp.expanduser(str(path))}) is a folder; give a '
                                   'checkpoint file in it (e.g. epoch_N.pth)') from None
    except FileNotFoundError:
        raise StartCheckpointError(f'{flag} ({osp.expanduser(str(path))}): no such file') \
            from None


def check_start_checkpoint(model: nn.Module, path: str, resume: bool,
                           scheduled: bool = True) -> Optional[dict]:
    """Raise :class:`StartCheckpointError` when ``path`` does not fit ``model``;
    the checkpoint's ``meta`` where it does (None without a ``path``).

    Resuming needs every weight, of the same shape; ``load_from`` needs the
    same shapes and at least one weight in common, and logs what it leaves
    at its initialisation. A local path that is no file is refused (MMEngine
    failed on it with a traceback), and so is a URL (nothing is downloaded,
    :class:`~dld.engine.checkpoint.CheckpointURLError`). ``scheduled``:
    the run has an LR schedule, which a resumed checkpoint must hold.
    """
    if not path:
        return
    flag = 'the checkpoint --resume continues' if resume else 'load_from'
    path = check_start_path(path, resume)
    from dld.apis.model_loading import read_checkpoint, state_and_meta
    model = model.module if is_model_wrapper(model) else model
    try:
        ckpt = read_checkpoint(path)
    except CheckpointReadError as err:
        earlier = _earlier_checkpoint(path) if resume else None
        if earlier is None:
            raise
        # a truncated last checkpoint: the one before it is whole (atomic saves)
        raise StartCheckpointError(f'{err}\nThe checkpoint before it is there: --resume '
                                   f'{earlier} goes on from it.') from None
    state, meta = state_and_meta(ckpt)
    _check_scales_kept(model, meta, path, flag)
    _check_base_size_kept(model, meta, path, flag, resume)
    from dld.models.dictionary.checkpoint_fit import other_chars
    problem = other_chars(model, meta, path, training=True)
    if problem:
        raise StartCheckpointError(f'{flag}: {problem}')
    probe = copy.deepcopy(model)
    try:
        with _info_unlogged():  # what loading says is said when MMEngine loads it
            result = probe.load_state_dict(state, strict=False)
    except RuntimeError as err:
        sizes = [line.strip().rstrip('.') for line in str(err).splitlines()
                 if 'size mismatch' in line]
        if not sizes:  # the model's own loading rules refused it: their words
            raise StartCheckpointError(f'{flag} ({path}) does not load: {err}') from None
        from dld.models.dictionary.checkpoint_fit import other_dictionary
        dictionary = other_dictionary(model, state)
        if dictionary:
            raise StartCheckpointError(f'{flag} ({path}): {dictionary}') from None
        raise StartCheckpointError(
            f'{flag} ({path}) was saved by another model: {len(sizes)} weight(s) differ in '
            f'shape, e.g. {"; ".join(sizes[:2])}. ' + _hint(resume)) from None
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if resume and (missing or unexpected):
        differ = ([f'{_names(missing)} of the model missing'] if missing else []) + \
            ([f"{_names(unexpected)} that are not the model's"] if unexpected else [])
        raise StartCheckpointError(
            f'{flag} ({path}) does not hold this model: {" and ".join(differ)}. '
            + _hint(resume))
    # the checkpoint's own values (a teacher loaded from teacher_ckpt is kept
    # over load_from's, its values never read)
    kept_teacher = not resume and bool(getattr(model, 'teacher_loaded', False))
    bad = next((k for k, v in state.items() if isinstance(v, torch.Tensor)
                and v.is_floating_point() and v.numel() and not bool(torch.isfinite(v).all())
                and not (kept_teacher and k.startswith('teacher.'))), None)
    if bad is not None:
        # resumed, it validated on NaN, recorded that, and stopped at the first
        # step as diverged, advising to resume from the same file (a resume journey)
        earlier = ('resume from an earlier checkpoint of the run (--resume PATH to its '
                   'epoch_N.pth)' if resume else 'give another checkpoint')
        raise StartCheckpointError(
            f'{flag} ({path}) holds NaN or infinity in {bad}: a file damaged on disk or in a '
            f'copy, or saved by a run that diverged; {earlier}')
    if not set(state) & set(probe.state_dict()):
        raise StartCheckpointError(
            f'load_from ({path}) shares no weight with the model (it holds '
            f'{_names(list(state))}), so training would start from random weights. '
            + _hint(resume))
    if not resume and hasattr(probe, 'teacher_loaded') and not bool(probe.teacher_loaded):
        # the first step stopped with a traceback: no trained teacher to distil from
        raise StartCheckpointError(
            f'load_from ({path}) holds no teacher weights (a student extracted with '
            'tools/extract_student.py?) and model.teacher_ckpt gives none, so the teacher '
            'would be untrained: set model.teacher_ckpt to the teacher the student was '
            'distilled from (its checkpoint or work dir), or load_from a training checkpoint '
            'that holds it.')
    if resume:  # the model's weights fit: what else a resume needs
        _check_resumable(ckpt, path, flag, scheduled)
    _keep_or_say_teacher(model, state, path, resume)
    if getattr(model, 'student_from_teacher', False) \
            and any(k.startswith('student.') for k in state):
        # said when the model was built, before the run knew of this checkpoint
        print_log(f"{flag} ({path}) holds the student: its weights replace those "
                  'initialised from the teacher.', logger='current')
    if bool(getattr(model, 'teacher_loaded', False)):
        # a DLD model's teacher came from its teacher_ckpt when it was built
        missing = [k for k in missing if not k.startswith('teacher.')]
    if missing:
        print_log(f'load_from ({path}) leaves {_names(missing)} at their initialisation '
                  f'(not in the checkpoint).', logger='current')
    return meta


def _earlier_checkpoint(path: str) -> Optional[str]:
    """The newest ``epoch_N.pth`` (``iter_N.pth``) beside ``path`` saved
    before it, by its number; None where there is none."""
    found = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
    if found is None:
        return None
    kind, number = found.group(1), int(found.group(2))
    folder = osp.dirname(path) or '.'
    earlier = [(n, name) for n, name in numbered_checkpoints(folder, kind) if n < number]
    return osp.join(folder, max(earlier)[1]) if earlier else None


def _check_resumable(ckpt: Mapping, path: str, flag: str, scheduled: bool) -> None:
    """A checkpoint without the LR schedule's state (a best checkpoint: MMEngine
    saves it with the weights and counters only) resumed with the schedule
    started again from its first step, without a word: refused. One without
    the optimiser's state alone (``save_optimizer=False``) resumes the
    schedule, its optimiser's moments afresh: said."""
    best = ' (a best checkpoint is saved with the weights only)' if \
        osp.basename(path).startswith('best') else ''
    if scheduled and 'param_schedulers' not in ckpt:
        also = '' if 'optimizer' in ckpt else ' (nor the optimiser\'s)'
        raise StartCheckpointError(
            f'{flag} ({path}) holds no LR schedule state{also}{best}, so the run would '
            'start its learning-rate schedule again from its first step; resume from a '
            'checkpoint saved with it (the epoch_N.pth, iter_N.pth of a run whose '
            'default_hooks.checkpoint keeps save_param_scheduler=True), or start a new run '
            'from its weights with load_from, in another work dir.')
    if 'optimizer' not in ckpt:
        print_log(f'{flag} ({path}) holds no optimiser state (saved with '
                  "save_optimizer=False?): the optimiser's moments start afresh.",
                  logger='current', level=logging.WARNING)


def _keep_or_say_teacher(model: nn.Module, state: Mapping, path: str, resume: bool) -> None:
    """A DLD model's teacher, loaded from ``model.teacher_ckpt`` when it was
    built, is kept when ``load_from`` holds another (a DLD checkpoint of an
    earlier stage): it replaced the configured teacher without a word. A
    resumed run goes on with the teacher it trained with, the checkpoint's,
    which is said where ``teacher_ckpt`` names another."""
    if not bool(getattr(model, 'teacher_loaded', False)) or not hasattr(model, 'teacher'):
        return
    model.keep_teacher_on_load = not resume
    own = model.teacher.state_dict()
    differ = [k for k, v in own.items() if f'teacher.{k}' in state
              and state[f'teacher.{k}'].shape == v.shape
              and not state[f'teacher.{k}'].to(v).equal(v)]
    if not differ:
        return
    if resume:
        print_log(f'The checkpoint resumed ({path}) holds another teacher than '
                  'model.teacher_ckpt names: the run goes on with the one it trained with, '
                  "the checkpoint's.", logger='current', level=logging.WARNING)
    elif getattr(model, 'teacher_from', 'teacher') != 'student':
        # a selector stage scored each scale against a teacher its student
        # never learnt from, said in an INFO line only (an efficiency journey)
        print_log(f'load_from ({path}) holds another teacher than model.teacher_ckpt names '
                  f'({len(differ)} of its weights differ), presumably the one its student '
                  "was distilled from: this run distils from model.teacher_ckpt's (a selector "
                  "stage scores each scale against it). To go on with the checkpoint's, set "
                  'model.teacher_ckpt=None.', logger='current', level=logging.WARNING)


def checkpoint_to_resume(work_dir: str) -> Optional[str]:
    """The checkpoint a resume without a path continues
    (:func:`~dld.engine.checkpoint.latest_checkpoint`), None where the work
    dir holds none yet. Raises :class:`StartCheckpointError` where it holds
    an earlier run's best checkpoints alone (its epoch checkpoints deleted):
    a fresh run there replaced them."""
    import glob

    from .checkpoint import epoch_end_before, latest_checkpoint
    ckpt = latest_checkpoint(work_dir)
    stepped_back = epoch_end_before(ckpt)
    if stepped_back:  # it was taken, then refused: 'resume from one saved at an epoch's end'
        ckpt, why = stepped_back
        print_log(f'resume: {why}; resuming from {ckpt}.', logger='current',
                  level=logging.WARNING)
    best = sorted(glob.glob(osp.join(glob.escape(work_dir), 'best*.pth')))
    if ckpt is None and best:
        raise StartCheckpointError(
            f'resume: {work_dir} holds no checkpoint to continue (epoch_N.pth, iter_N.pth) '
            f'but {", ".join(osp.basename(b) for b in best)}, of this run or an earlier one, '
            'which a run started afresh there would replace (a best checkpoint holds no LR '
            'schedule state to resume). Start a new run in another work dir, with load_from='
            f'{best[0]} for its weights, or remove the best checkpoint(s) to start afresh '
            'there.')
    return ckpt


def _check_scales_kept(model: nn.Module, meta: dict, path: str, flag: str) -> None:
    """A DLD checkpoint of several scales starts a run of the same scales:
    the student's per-scale BatchNorm statistics and the selector's outputs
    follow the scales' order, so a selector stage on (1.0, 0.8, 0.5) from a
    student of (1.0, 0.7, 0.4) trained on the wrong statistics without a
    word (tools/test.py and infer.py refuse to read it so). A checkpoint of
    one scale (plain BatchNorm) may start a run of several."""
    from dld.apis.trained_config import scales_differ, trained_scales
    trained, own = trained_scales(meta), getattr(model, 'scales', None)
    if trained is None or own is None or len(trained) < 2:
        return
    own = tuple(float(s) for s in own)
    if scales_differ(trained, own):
        raise StartCheckpointError(
            f'{flag} ({path}) was trained with model.scales={trained}, this run has {own}: '
            "the student's per-scale BatchNorm statistics and the selector's outputs follow "
            'the trained scales in their order, so each scale would start from another\'s. '
            'Set model.scales to the trained ones.')


def _check_base_size_kept(model: nn.Module, meta: dict, path: str, flag: str,
                          resume: bool) -> None:
    """A DLD checkpoint of another ``base_size`` is refused where the run
    goes on with its weights as they are (a resume, a selector stage on its
    frozen student: trained at 48x144, it scored 32x96 inputs with that
    size's statistics) and said where a student trains on at the new size."""
    from dld.apis.trained_config import trained_base_size
    trained, own = trained_base_size(meta), getattr(model, 'base_size', None)
    if trained is None or own is None or tuple(own) == trained:
        return
    said = (f'{flag} ({path}) was trained at model.base_size={trained}, this run reads at '
            f'{tuple(own)}')
    if resume or getattr(model, 'train_student', True) is False:
        raise StartCheckpointError(
            f"{said}: its scales, per-scale BatchNorm statistics and selector are of the "
            'trained size. Set model.base_size (and every pipeline\'s ResizePair) to it.')
    print_log(f'{said}: the student trains on from weights of the other size.',
              logger='current', level=logging.WARNING)


def check_frozen_parts_loaded(model: Any, load_from: Optional[str], resume: bool) -> None:
    """A stage that trains on a frozen part must load it: a selector stage
    (``model.train_student=False``) learns from the student that
    ``load_from`` gives, and a student stage whose scales a frozen selector
    picks (``student_stage_scales='selector'``) needs that selector trained.
    Without ``load_from`` the part was untrained (or the teacher's copy) and
    the stage ran on it without a word.

    ``model``: the config's ``model`` dict or the built model.
    """
    if load_from or resume:  # MMEngine's resume=True finds its own
        return
    if isinstance(model, Mapping):
        from dld.models.distillers import is_distiller_type
        if not is_distiller_type(model.get('type')):
            return
        setting = model.get
    else:
        model = model.module if is_model_wrapper(model) else model
        setting = functools.partial(getattr, model)
    if setting('train_student', None) is False:
        raise ConfigSettingError(
            'model.train_student=False freezes the student (a selector stage), but no '
            'load_from gives its weights, so the selector would learn on an untrained '
            "student (or the teacher's copy); give --cfg-options load_from=<the student "
            "stage's checkpoint>, e.g. work_dirs/<its config's name>/best.pth")
    if (setting('train_selector', None) is False
            and setting('student_stage_scales', None) == 'selector'):
        raise ConfigSettingError(
            "model.student_stage_scales='selector' lets the frozen selector pick each "
            'image\'s first scale, but no load_from gives a trained one, so an untrained '
            "selector would send every image to one scale; give --cfg-options "
            "load_from=<a selector stage's checkpoint>")


def _names(keys: List[str]) -> str:
    """``12 weights (teacher.*, selector.*)``: a count and the top-level parts."""
    if not keys:
        return 'no weight'
    tops = sorted({k.split('.')[0] + '.*' if '.' in k else k for k in keys})
    return (f'{len(keys)} weight{"s" if len(keys) > 1 else ""} '
            f'({", ".join(tops[:4])}{", ..." if len(tops) > 4 else ""})')


def _hint(resume: bool) -> str:
    if resume:
        return ('Resume with the config it was trained with, or start a new run from its '
                'weights with load_from (in another work dir).')
    return "Give load_from a checkpoint of this model (the stage its config names)."
