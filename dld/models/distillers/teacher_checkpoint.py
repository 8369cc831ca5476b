"""Finding and loading the frozen teacher's weights."""
import glob
import logging
import os
import os.path as osp
import re
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from dld.engine.checkpoint import (
    CheckpointFitError,
    load_checkpoint_file,
    read_checkpoint_pointer,
    refuse_url,
    submodule_state,
)
from dld.models.dictionary.checkpoint_fit import (
    other_chars,
    other_decoder_parts,
    other_dictionary,
    warn_if_decoders_other,
)
from dld.utils.error_lines import first_lines
from dld.utils.finite import first_non_finite
from dld.utils.shown_paths import of_dld as _of_dld
from dld.utils.shown_paths import where
from dld.utils.trained_input_size import recorded_input_size, warn_if_other_input_size


def teacher_hint(path: str = '') -> str:
    """The command that trains the teacher ``path`` names: ``tools/train.py``
    writes ``configs/NAME.py``'s run to ``work_dirs/NAME``, so a work dir (or
    a file in one) named like a config names it (``teacher_plate_hr_ctc``
    for the CTC DLD); the quickstart's, its script; else the attention
    teacher's."""
    if osp.normpath(path).endswith(osp.join('quickstart', 'teacher')):
        # it trains work_dirs/quickstart/teacher
        return f"python {_of_dld('tools/quickstart.py')}"
    for name in (osp.basename(osp.normpath(path)), osp.basename(osp.dirname(path))):
        config = _of_dld(f'configs/{name}.py') if name else ''
        if config and osp.isfile(config):
            return f"python {_of_dld('tools/train.py')} {config}"
    return f"python {_of_dld('tools/train.py')} {_of_dld('configs/teacher_plate_hr.py')}"


def resolve_teacher_checkpoint(path: str) -> str:
    """A file as is; a work dir -> its ``best.pth`` link or single ``best_*.pth``,
    else its last checkpoint.

    So configs can name the teacher's work dir, whose best checkpoint's name
    carries an epoch number that is not known in advance.
    """
    if not osp.isdir(path):
        return path
    link = osp.join(path, 'best.pth')  # AtomicCheckpointHook's link
    if osp.isfile(link):
        return link
    if osp.lexists(link):  # not another checkpoint in its place: say so
        raise FileNotFoundError(f'{link} points at {os.readlink(link)}, which is missing; '
                                'set `model.teacher_ckpt` to the checkpoint to use.')
    best = sorted(glob.glob(osp.join(path, 'best_*.pth')))
    if len(best) == 1:
        return best[0]
    if len(best) > 1:
        raise FileNotFoundError(
            f'{path} holds several best_*.pth ({[osp.basename(b) for b in best]}); '
            'set `model.teacher_ckpt` to one of them.')
    last = osp.join(path, 'last_checkpoint')
    if osp.isfile(last):
        return read_checkpoint_pointer(last)
    return osp.join(path, 'best_*.pth')


def find_teacher_checkpoint(path: str, take: str = 'teacher') -> str:
    """The file ``path`` names (:func:`resolve_teacher_checkpoint`); a
    FileNotFoundError saying how to train it where there is none.
    ``tools/train.py`` asks before the runner is built: the refusal came
    after the runner had logged the whole config, some 800 lines. A URL is
    refused (:class:`~dld.engine.checkpoint.CheckpointURLError`)."""
    refuse_url(path)
    path = resolve_teacher_checkpoint(path)
    if not osp.isfile(path):
        train = ("Train a DLD run first; its student becomes the teacher "
                 "(teacher_from='student')" if take == 'student' else
                 f'Train one first with `{teacher_hint(path)}`')
        raise FileNotFoundError(
            f'Teacher checkpoint not found: {where(path)}. {train} and point '
            '`model.teacher_ckpt` at its best checkpoint (or pass --cfg-options '
            'model.teacher_ckpt=PATH).')
    return path


def check_config_teacher(cfg) -> None:
    """A distiller config's ``model.teacher_ckpt`` that names no checkpoint
    is refused before the run starts (:func:`find_teacher_checkpoint`)."""
    model = cfg.get('model')
    path = model.get('teacher_ckpt') if isinstance(model, dict) else None
    if isinstance(path, str):
        find_teacher_checkpoint(path, model.get('teacher_from', 'teacher'))
    elif (path is None and isinstance(model, dict) and not cfg.get('load_from')
          and not cfg.get('resume')):
        from dld.models.distillers.distiller_type import is_distiller_type
        if is_distiller_type(model.get('type')):
            # it was a traceback at the first step, after the set-up (800 lines)
            raise UntrainedTeacherError(untrained_teacher_message(
                model.get('teacher_from', 'teacher')))


class UntrainedTeacherError(RuntimeError):
    """A DLD run whose teacher holds no trained weights: no
    ``model.teacher_ckpt``, and no ``load_from`` that brings a teacher."""


def untrained_teacher_message(teacher_from: str = 'teacher') -> str:
    """Why a DLD run without a trained teacher is refused, and the way out."""
    source = ("a DLD run's checkpoint, whose student becomes the teacher "
              "(teacher_from='student')" if teacher_from == 'student' else
              f'train one with `{teacher_hint()}`')
    return (f'The teacher has no trained weights: set `model.teacher_ckpt` ({source}; '
            '--cfg-options model.teacher_ckpt=PATH), or start from a DLD checkpoint that holds '
            'one (load_from); distilled from random weights the student would learn nothing.')


def other_layers(model: nn.Module, state: dict) -> str:
    """Where ``state`` names other weights than ``model`` has (another
    backbone class, other layers): the names on each side, and that
    ``model.teacher`` must describe the teacher as its own config did; ''
    where the names agree (a size differs: other widths). A DLD config of a
    teacher of one's own left ``model.teacher`` the default one, and the fit
    error listed its size mismatches first, the cause hidden among them."""
    own = set(model.state_dict())
    theirs = set(state)
    missing, unexpected = sorted(own - theirs), sorted(theirs - own)
    if not missing and not unexpected:
        return ''
    said = []
    if missing:
        said.append(f"{len(missing)} of model.teacher's weights are not in it (e.g. "
                    f'{missing[0]})')
    if unexpected:
        said.append(f'{len(unexpected)} of its weights are not in model.teacher (e.g. '
                    f'{unexpected[0]})')
    return (f"{' and '.join(said)}: a teacher of other layers; model.teacher must describe the "
            "teacher as its own config did (its backbone, encoder and decoder), not the "
            "base config's")


def other_input_channels(model: nn.Module, state: dict, who: str = 'model.teacher',
                         advice: Optional[str] = None) -> str:
    """Where ``state``'s first convolution (the first of ``model``'s that
    ``state`` holds) reads other channels than ``model``'s: a colour
    model's checkpoint for a grey config, or the reverse. Both, and the way
    out; '' otherwise. It was called "other widths?", the cause one shape
    among the mismatches."""
    for name, module in model.named_modules():
        weight = state.get(f'{name}.weight') if isinstance(module, nn.Conv2d) else None
        if weight is None:
            continue
        if weight.dim() != 4 or weight.shape[1] * module.groups == module.in_channels:
            return ''
        theirs = int(weight.shape[1]) * module.groups
        kind = 'colour' if theirs == 3 else 'grey' if theirs == 1 else f'{theirs}-channel'
        if advice is None:
            advice = ('Set the teacher, the student and the data preprocessor to its channels '
                      '(a grey image is repeated into 3 by channels=3), or train a teacher '
                      f"on {'grey' if theirs == 3 else 'colour'} (docs/datasets.md)")
        return (f'it reads {theirs} channel(s), {who} {module.in_channels} '
                f'(backbone.in_channels; {name}.weight): a model trained on {kind} images. '
                + advice)
    return ''


#: The ``default_scope`` of libraries whose recognizers DLD's do not load.
OTHER_SCOPES = ('mmocr', 'mmdet', 'mmpretrain', 'mmcls')


def other_library(meta: dict) -> str:
    """Where ``meta`` says the checkpoint was saved by another OpenMMLab
    library (its config's ``default_scope``, an MMOCR model's say): that,
    and that DLD cannot read it as a teacher; '' otherwise. It was called
    a teacher of other layers that ``model.teacher`` should describe, which
    no DLD config can."""
    cfg = meta.get('cfg')
    found = re.search(r"default_scope\s*=\s*['\"](\w+)['\"]", cfg) if isinstance(cfg, str) \
        else None
    scope = found.group(1) if found else None
    if scope not in OTHER_SCOPES:
        return ''
    return (f"a checkpoint of {scope} (its config's default_scope is {scope!r}), whose "
            "models DLD's recognizers are not: train a DLD teacher on your data "
            f'(`{teacher_hint()}`) and point model.teacher_ckpt at it')


def weights_under_one_key(state: dict) -> str:
    """Where ``state``'s weights all lie under one key other than
    ``state_dict`` (another tool's ``torch.save({'model': sd})``): that key
    and how to save them for DLD; '' otherwise. It was called a teacher of
    other layers, one of whose weights is ``model``."""
    if len(state) != 1:
        return ''
    (key, inner), = state.items()
    if not (isinstance(inner, dict) and inner
            and all(hasattr(v, 'shape') for v in inner.values())):
        return ''
    return (f'its weights are all under the key {key!r}; DLD reads them under '
            "'state_dict' (or at the top level): save them again with "
            f"torch.save(dict(state_dict=ckpt[{key!r}]), path)")


def _trained_size(teacher: nn.Module, recorded: Optional[Tuple[int, int]],
                  reads: Tuple[int, int]) -> Optional[Tuple[int, int]]:
    """``recorded``, or None where ``reads`` is one of the scales of it the
    ``teacher`` trained at (its per-scale BatchNorm's, or ``train_scales``)."""
    from dld.utils.flops import scale_input_shapes
    scales = (getattr(teacher, 'scale_norm_scales', None)
              or getattr(teacher, 'train_scales', None) or ())
    if recorded is not None and tuple(reads) in scale_input_shapes(recorded, scales):
        return None
    return recorded


#: Settings of a recognizer that no weight's shape depends on: a teacher
#: checkpoint loads into a ``model.teacher`` that states another value
#: without an error, and reads otherwise than it was trained to.
#: (``decoder.max_seq_len`` only bounds how long it reads, and matching the
#: student's is one way out of check_same_steps: not compared.)
SHAPE_FREE_SETTINGS = (('backbone', 'strides'), ('encoder', 'pooling'),
                       ('encoder', 'num_heads'), ('decoder', 'num_heads'),
                       ('data_preprocessor', 'mean'), ('data_preprocessor', 'std'))


def _plain(value):
    """Lists as tuples, all the way down, so (2, 1) and [2, 1] agree."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def warn_if_described_otherwise(described: Optional[dict], meta: dict, path: str) -> bool:
    """Warn where ``described`` (``model.teacher``'s config, with the
    distiller's ``data_preprocessor``) states another value than the
    config the checkpoint was trained with (``meta['cfg']``) for a setting
    that changes no weight's shape (:data:`SHAPE_FREE_SETTINGS`): other
    strides, say, loaded without a word, and the teacher read a feature
    map of another shape than it was trained on. True where it warned."""
    from mmengine.logging import print_log

    from dld.apis.trained_config import trained_setting
    if not isinstance(described, dict):
        return False
    differ = []
    for keys in SHAPE_FREE_SETTINGS:
        part = described.get(keys[0])
        ours = part.get(keys[1]) if isinstance(part, dict) else None
        theirs = trained_setting(meta, 'model', *keys)
        if ours is None or theirs is None or _plain(ours) == _plain(theirs):
            continue
        where = ('model.data_preprocessor' if keys[0] == 'data_preprocessor'
                 else f'model.teacher.{keys[0]}')
        differ.append(f'{where}.{keys[1]}={_plain(ours)!r} (trained with {_plain(theirs)!r})')
    if not differ:
        return False
    print_log(f"{path}: the teacher was trained with other settings than the DLD config "
              f"describes: {'; '.join(differ)}. No weight's shape depends on them, so it "
              'loads, but it reads otherwise than it was trained to: describe the teacher '
              'in model.teacher as its own config did (docs/customize.md).',
              logger='current', level=logging.WARNING)
    return True


def load_teacher_weights(teacher: nn.Module, path: str, take: str = 'teacher',
                         reads: Optional[Sequence[int]] = None, stream: str = 'hr',
                         described: Optional[dict] = None) -> str:
    """Load ``path`` into ``teacher`` strictly; returns the file it read.

    ``path`` is a checkpoint or a work dir (:func:`resolve_teacher_checkpoint`).
    From a DLD checkpoint ``take`` picks the recognizer: ``'teacher'`` (its
    HR teacher) or ``'student'`` (a born-again teacher); with ``'teacher'``
    a plain recognizer checkpoint is loaded as it is, and where its meta
    records another training size than the ``(H, W)`` the teacher ``reads``
    here (of its ``stream``, ``'hr'`` or ``'lr'``), that is warned of; not
    where that is one of the scales it trained at (a teacher of per-scale
    BatchNorm, as an LR student trained with ``train_scales`` is: its
    checkpoint records the batches' size, which it resized itself).
    ``described``: the config ``teacher`` was built from, checked against
    the checkpoint's own (:func:`warn_if_described_otherwise`).
    """
    path = find_teacher_checkpoint(path, take)
    ckpt = load_checkpoint_file(path, map_location='cpu')
    problem = other_chars(teacher, dict(ckpt.get('meta') or {}), path, training=True)
    if problem:
        raise ValueError(f'model.teacher: {problem}')
    warn_if_decoders_other(teacher, dict(ckpt.get('meta') or {}), path)  # an older checkpoint
    state = ckpt.get('state_dict', ckpt)
    part = submodule_state(state, take)
    if part is not None:  # a DLD checkpoint: take its teacher (or its student)
        state = part
        if take == 'teacher':  # said: a DLD checkpoint was taken for a teacher's without a word
            from mmengine.logging import print_log
            print_log(f'{path} is a DLD checkpoint: the teacher it distilled from (its '
                      "teacher.* weights) is taken (model.teacher_from='student' would take "
                      'its student).', logger='current')
    elif take == 'student':
        raise ValueError(f"{path} holds no student weights: teacher_from='student' "
                         'takes the student of a DLD checkpoint.')
    elif submodule_state(state, 'student') is not None:
        # an extracted student (tools/extract_student.py keeps no teacher):
        # the fit error called it "a teacher of other layers"
        raise ValueError(f'{path} is a DLD checkpoint without a teacher (its student and '
                         'selector only, as tools/extract_student.py keeps): point '
                         "model.teacher_ckpt at the HR teacher's checkpoint (or the DLD "
                         "training checkpoint), or set model.teacher_from='student' to "
                         'make its student the teacher.')
    try:
        _load_checkpoint_to_model(teacher, dict(state_dict=state), strict=True)
    except RuntimeError as err:
        parts = other_decoder_parts(teacher, state)
        cause = (other_library(dict(ckpt.get('meta') or {}))
                 or (parts and f'{parts}: a teacher of another decoder type, attention or CTC?')
                 or other_input_channels(teacher, state)
                 or weights_under_one_key(state)
                 or other_dictionary(teacher, state) or other_layers(teacher, state)
                 or 'other widths? a student with per-scale BatchNorm needs `scale_norm` in '
                 'the teacher config too')
        raise CheckpointFitError(f'{path} does not fit `model.teacher` ({cause}): '
                           f'{first_lines(err)}') from None
    bad = first_non_finite(teacher)
    if bad is not None:  # a diverged run's best checkpoint: it would teach NaN
        raise ValueError(f"{path}: the teacher's {bad} holds NaN or infinity (saved by a "
                         'run that diverged?); train the teacher again, or point '
                         'model.teacher_ckpt at a checkpoint saved before it diverged')
    if take == 'teacher' and part is None:
        warn_if_described_otherwise(described, dict(ckpt.get('meta') or {}), path)
        if reads is not None:
            h, w = (int(s) for s in reads)
            warn_if_other_input_size(
                _trained_size(teacher, recorded_input_size(ckpt.get('meta')), (h, w)),
                (h, w), path, 'the teacher',
                f"Set the size it reads (the pipelines' ResizePair {stream}_size, "
                f'model.base_size and model.teacher_scale: it reads teacher_scale x base_size '
                f'of the {stream.upper()} frame, here {h}x{w}) to the size it was trained at, '
                'or train the teacher at this one.')
        _warn_if_it_read_little(path, ckpt)
    # what its own run read, for TeacherAccuracyHook to set beside this run's
    # (a DLD checkpoint's best score is its student's, not its teacher's)
    teacher.own_validation = (best_validation_score(ckpt, 'at best ')
                              if take == 'teacher' and part is None else None)
    return path


#: Below this best validation score (accuracy or 1-NED) a teacher is said to
#: read little.
TEACHER_READS_LITTLE = 0.1

#: MMEngine names a best checkpoint ``best_<key, '/' as '_'>_epoch_N.pth``
#: (``_iter_N`` in an iteration-based run); these keys of DLD's metrics are
#: fractions where more is better. A key without a prefix is tried first
#: (``char_accuracy`` is no ``char`` set's accuracy).
_BEST_SCORE_NAME = re.compile(
    r'^best_(?:(?P<prefix>.+?)_)??(?P<metric>accuracy|char_accuracy|one_minus_ned)'
    r'_(?:epoch|iter)_\d+\.pth$')


def best_validation_score(ckpt: dict, qualifier: str = '') -> Optional[Tuple[float, str, str]]:
    """``(score, key, words)`` of the best validation score a training
    checkpoint records, where its run kept its best by an accuracy or 1-NED
    key (a fraction, more is better): e.g. ``(0.97, 'plate/accuracy', 'read
    97.0 % of its validation plates')``; None otherwise (another key, a
    rule of 'less', no best kept, several keys). ``qualifier`` goes before
    the figure in the words (``'at best '``)."""
    info = (ckpt.get('message_hub') or {}).get('runtime_info') or {}
    score, best = info.get('best_score'), str(info.get('best_ckpt') or '')
    named = _BEST_SCORE_NAME.match(osp.basename(best))
    if not isinstance(score, (int, float)) or isinstance(score, bool) or named is None:
        return None
    prefix, metric = named['prefix'] or '', named['metric']
    key = f'{prefix}/{metric}' if prefix else metric
    if metric == 'accuracy' and prefix:  # 'plate_accuracy': whole plates (words) read
        words = f'read {qualifier}{100 * score:.1f} % of its validation {prefix}s ({key})'
    else:
        words = f'scored {qualifier}{100 * score:.1f} % ({key}) on its validation set'
    return float(score), key, words


def _warn_if_it_read_little(path: str, ckpt: dict) -> None:
    """A teacher whose own run scored (almost) nothing on its validation set
    at its best, as its checkpoint records (``best_score`` of a checkpoint
    kept by an accuracy or 1-NED): a DLD run distilled from one that read
    0 % without a word (a teacher stopped on its plateau, docs/results.md).
    Worded by the key the run kept its best by (plates, words or 1-NED)."""
    from mmengine.logging import print_log
    best = best_validation_score(ckpt, 'at best ')
    if best is None or best[0] >= TEACHER_READS_LITTLE:
        return
    print_log(f'{path}: its training run {best[2]}: a teacher that reads so little teaches '
              'little. Train it longer (a teacher can stay on a plateau for epochs, '
              'docs/results.md) or check its data.', logger='current', level=logging.WARNING)


def link_target(path: str) -> str:
    """`` (best_plate_accuracy_epoch_5.pth)`` for a ``best.pth`` link: which
    epoch was read; '' for a plain file."""
    return f' ({os.readlink(path)})' if osp.islink(path) else ''
