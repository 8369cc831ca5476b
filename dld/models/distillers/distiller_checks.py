"""Checks of :class:`DLDDistiller`'s settings, run when it is built.

Why: a misspelt key or value, or a setting the distiller does not read,
would otherwise cost a run before anyone noticed; each is refused at build
time with the setting's name. (Checks that need the built parts, such as a
selector without its loss, stay in the distiller.)
"""
import contextlib
import contextvars
import inspect
import logging
import math
import numbers
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log

from dld.models.recognizers.text_recognizer import untrained_scale_warning
from dld.utils.listing import first_and_more

#: Each string setting and the values it takes.
CHOICES = dict(
    scale_strategy=('all', 'sampled'),
    selector_score=('kl', 'gt_nll', 'top1_miss'),
    selector_decisions=('gumbel', 'expected'),
    cost=('flops', 'scale_pow'),
    student_scale_weighting=('uniform', 'selected'),
    student_stage_scales=('uniform', 'selector'),
    teacher_input=('hr', 'lr'),
    teacher_from=('teacher', 'student'),
    teacher_gate=('none', 'top1_right'),
)


class InputSizeError(ValueError):
    """Inputs of another size than the distiller's ``base_size``: its scales
    and FLOPs would be of the wrong size. The tools say it in one line."""


class PartContractError(ValueError):
    """A part of the model (a selector, a loss in a distiller role, a
    student backbone: often one of a user's own, docs/customize.md) that
    does not give what the distiller needs of it: logits of another shape,
    a loss not per image, a student that cannot read a candidate scale.
    The tools say it in one line (it was a traceback of 40 to 150 lines
    around the message)."""


#: How the distiller calls each role's loss: (positional arguments, keywords,
#: as said in docs/customize.md's table).
LOSS_CALLS = dict(
    skd=(2, ('reduction_override', ), "loss(beam_nll, scores, reduction_override='none')"),
    feature=(2, ('mask', 'reduction_override'),
             "loss(student, teacher, mask=None, reduction_override='none')"),
    logit=(2, ('mask', 'reduction_override'),
           "loss(student_logits, teacher_logits, mask=mask, reduction_override='none')"),
    selector=(3, ('return_parts', ),
              'loss(decisions, scores, relative_cost, return_parts=True)'),
    extra=(2, ('reduction_override', ), "loss(student, teacher, reduction_override='none')"))


def check_loss_call(role: str, loss: Optional[nn.Module], with_mask: bool = True,
                    where: Optional[str] = None) -> None:
    """Refuse, when the model is built, a loss that cannot take its role's
    call: one of a user's own without ``reduction_override`` failed at the
    first step, a traceback through MMEngine's loops. ``with_mask=False``:
    the feature role is called without ``mask`` (no decoder level);
    ``where``: the setting named (``model.losses.<role>``)."""
    if loss is None:
        return
    count, keywords, said = LOSS_CALLS[role]
    if role == 'feature' and not with_mask:
        keywords = tuple(k for k in keywords if k != 'mask')
        said = said.replace(', mask=None', '')
    if role == 'logit' and getattr(loss, 'needs_target', False):
        keywords, said = keywords + ('target', ), said[:-1] + ', target=...)'
    try:
        signature = inspect.signature(loss.forward)
    except (TypeError, ValueError):  # a builtin's: nothing to check
        return
    try:
        signature.bind(*range(count), **dict.fromkeys(keywords))
    except TypeError as err:
        raise PartContractError(
            f'{where or f"model.losses.{role}"} ({type(loss).__name__}) cannot take the call '
            f'of the {role} role, {said}: {err} (docs/customize.md)') from None


def check_choices(**settings: str) -> None:
    """Each of ``settings`` (names of :data:`CHOICES`) is one of its values."""
    for name, value in settings.items():
        check_choice(name, value, CHOICES[name])


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f'{name} must be one of {list(choices)}, got {value!r}')


def check_keys(name: str, cfg: dict, allowed: Sequence[str], hint: str = '') -> None:
    """A misspelt key would otherwise be ignored, silently."""
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise KeyError(f'DLDDistiller.{name}: unknown key(s) {unknown}; allowed: '
                       f'{list(allowed)}{hint}.')


def warn_of_force_scale(test_cfg: dict, student, base_size: Sequence[int]) -> None:
    """``test_cfg.force_scale`` reads every image at one scale: a warning
    where that scale is none the student keeps BatchNorm statistics for (it
    reads with the nearest one's), and where it leaves ``reread`` unused.
    ``PlateRecognizer`` warns so of ``--scale``; this is the config's way."""
    force = test_cfg.get('force_scale')
    if force is None:
        return
    check_force_scale(force)
    warning = untrained_scale_warning(student, base_size, force,
                                      f'model.test_cfg.force_scale={force:g}')
    if warning:
        print_log(warning, logger='current', level=logging.WARNING)
    unused = [name for name in ('reread', 'selector_bias') if test_cfg.get(name)]
    if unused:
        print_log(f'model.test_cfg.force_scale={force:g} reads every image once at that scale '
                  '(the selector not run), so '
                  + ' and '.join(f'model.test_cfg.{name}' for name in unused)
                  + (' is' if len(unused) == 1 else ' are') + ' not used', logger='current',
                  level=logging.WARNING)


def check_force_scale(force) -> None:
    """``test_cfg.force_scale`` is a number in ``(0, MAX_SCALE]``, as
    ``tools/infer.py --scale`` is: 0 built (with a warning of the
    BatchNorm statistics of 0.3) and failed at the first validation, after
    training, naming no setting; a string failed on a format code."""
    from dld.reading_limits import MAX_SCALE
    if isinstance(force, bool) or not isinstance(force, numbers.Real) or not (
            math.isfinite(force) and 0.0 < force <= MAX_SCALE):
        raise ValueError(f'model.test_cfg.force_scale must be a number in (0, {MAX_SCALE:g}] '
                         f'(a scale of base_size), got {force!r}')


def check_selector_bias(bias, scales: Sequence[float], has_selector: bool) -> None:
    """``test_cfg.selector_bias`` is one finite number per candidate scale,
    in ``model.scales`` order, added to the selector's logits at inference."""
    if bias is None:
        return
    if not has_selector:
        raise ValueError('model.test_cfg.selector_bias shifts the selector\'s choices, but the '
                         'model has no selector (it reads every image at one scale)')
    if isinstance(bias, (str, bytes, dict)) or not isinstance(bias, Sequence) or \
            len(bias) != len(scales) or not all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) and math.isfinite(b)
                for b in bias):
        raise ValueError(f'model.test_cfg.selector_bias must be {len(scales)} finite numbers, '
                         f'one per candidate scale in model.scales order {list(scales)} '
                         f'(added to the selector\'s logits; tools/calibrate_reread.py '
                         f'--selector-bias picks them for a FLOPs budget), got {bias!r}')


def check_reread(reread: Optional[dict], scales: Sequence[float]) -> None:
    """``test_cfg.reread`` must name a probability and candidate scales."""
    if not reread:
        return
    unknown = set(reread) - {'min_score', 'scales'}
    if unknown or 'min_score' not in reread or not reread.get('scales'):
        raise ValueError('test_cfg.reread must be dict(min_score=<probability>, '
                         f'scales=[<candidate scales>]), got {reread}')
    min_score, rescales = reread['min_score'], reread['scales']
    if isinstance(min_score, bool) or not isinstance(min_score, numbers.Real) or \
            not 0.0 <= min_score <= 1.0:
        # 'x' was "could not convert string to float: 'x'"
        raise ValueError(f'test_cfg.reread.min_score is a probability, got {min_score!r}')
    if isinstance(rescales, (str, bytes)) or not all(
            isinstance(s, numbers.Real) and not isinstance(s, bool) for s in rescales):
        # '1.0' was read one character at a time: "could not convert string to float: '.'"
        raise ValueError('test_cfg.reread.scales must be a list of candidate scales, e.g. '
                         f'[0.6, 1.0], got {rescales!r}')
    # The student keeps BatchNorm statistics per candidate scale only.
    missing = [s for s in reread['scales'] if float(s) not in scales]
    if missing:
        raise ValueError(f'test_cfg.reread.scales {missing} are not candidate scales '
                         f'{list(scales)}')


def check_task_loss_settings(student: nn.Module) -> None:
    """The distiller's task term is the student decoder's NLL of the ground
    truth per character, at weight 1 (``model.losses`` weigh the teacher's
    terms against it): a ``loss_weight`` or ``label_smoothing`` set on the
    student's ``module_loss`` is not read there, and is refused rather than
    ignored."""
    loss = getattr(getattr(student, 'decoder', None), 'module_loss', None)
    ignored = {name: getattr(loss, name) for name, unread in
               (('loss_weight', 1.0), ('label_smoothing', 0.0))
               if getattr(loss, name, unread) != unread}
    if ignored:
        raise ValueError(
            f'model.student.decoder.module_loss sets {ignored}, which the distiller\'s task '
            "term does not read (it is the decoder's plain NLL per character, weight 1); "
            'weigh the teacher\'s terms in model.losses instead')


def check_aux_decoder(student: nn.Module) -> None:
    """The distiller weighs the student's losses per image and scale, so a
    training-only head must give its loss per sample."""
    aux = getattr(student, 'aux_decoder', None)
    if aux is not None and not callable(getattr(aux.module_loss, 'sample_losses', None)):
        raise ValueError(
            f'DLDDistiller: the student\'s aux_decoder loss {type(aux.module_loss).__name__} '
            'gives no per-sample losses (`sample_losses`); use a CTCDecoder head with '
            'CTCModuleLoss.')


def check_distinct_sizes(scales: Sequence[float], base_size: Sequence[int]) -> None:
    """Two candidate scales of one input size (``(1.0, 0.5, 0.5)``, or 0.5
    and 0.501 of 48 x 144) are one choice offered twice: the selector
    splits its choice between them and the report lists it twice. Without
    per-scale BatchNorm they trained silently; with it the refusal named
    ``TextRecognizer.scale_norm``, not the setting."""
    from dld.utils.flops import scale_input_shapes
    sizes = scale_input_shapes(tuple(base_size), scales)
    first = {}
    for scale, size in zip(scales, sizes):
        if size in first:
            raise ValueError(f'model.scales: {first[size]:g} and {scale:g} both read '
                             f'{size[0]}x{size[1]} of base_size {tuple(base_size)}: a '
                             'candidate scale is listed once, each of its own input size')
        first[size] = scale


def check_scales_range(scales: Sequence[float], name: str) -> None:
    """Scales are fractions of ``base_size``, the teacher's input: one above
    1 read a larger input than the teacher's (at 1.2x, 158 % of its FLOPs)."""
    bad = [s for s in scales if not (math.isfinite(s) and 0.0 < s <= 1.0)]
    if bad:
        raise ValueError(f'model.{name}: {bad[0]:g} is not in (0, 1]; scales are fractions of '
                         'base_size, the teacher\'s input (to read larger images, raise '
                         'base_size).')


def check_same_characters(teacher: nn.Module, student: nn.Module) -> None:
    """SKD hands the teacher's sequences to the student and the ground truth,
    encoded by the student, to the teacher, as character indices: two
    dictionaries of other characters or order read each other's indices as
    other characters (the teacher read UQG3735 as 59JWSWU), silently."""
    found = [getattr(getattr(m, 'decoder', None), 'dictionary', None) for m in (teacher, student)]
    if any(d is None for d in found):
        return
    t, s = (d.dict[:d.num_chars] for d in found)
    if t != s:
        first = next((i for i, (a, b) in enumerate(zip(t, s)) if a != b), min(len(t), len(s)))
        raise ValueError(
            f"The teacher's and the student's dictionaries differ ({len(t)} and {len(s)} "
            f'characters; first difference at index {first}{_difference(t, s, first)}): '
            'distillation passes character indices between them, so they must hold the same '
            'characters in the same order (the same dict_file).')


#: True while a distiller is built to read with (its student and selector),
#: not to train: checks of what only its training losses compare are skipped
_BUILT_FOR_READING = contextvars.ContextVar('dld_built_for_reading', default=False)


@contextlib.contextmanager
def built_for_reading():
    """Distillers built inside read images, never train: a checkpoint made
    before a training-only check (teacher and student decoders of other
    ``max_seq_len``, refused at build since 2026-12-07) still loads in
    test.py, infer.py, PlateRecognizer, the reports and the ONNX export."""
    token = _BUILT_FOR_READING.set(True)
    try:
        yield
    finally:
        _BUILT_FOR_READING.reset(token)


def check_same_steps(teacher: nn.Module, student: nn.Module) -> None:
    """Two attention decoders of other ``max_seq_len`` give hidden states and
    logits of other step counts: the decoder-level feature L2 interpolated
    the student's steps onto the teacher's (step 20 of a 20-character label,
    its EOS, was compared with a blend of the student's steps 16 and 17),
    and logit KD failed at the first step asking for a resampling that
    decoding steps (characters, not places) must not get."""
    if _BUILT_FOR_READING.get():  # reading uses neither loss: the student decodes alone
        return
    steps = [getattr(getattr(m, 'decoder', None), 'max_seq_len', None) for m in (teacher, student)]
    if all(isinstance(s, int) for s in steps) and steps[0] != steps[1]:
        raise ValueError(
            f"model.teacher.decoder.max_seq_len={steps[0]} differs from "
            f"model.student.decoder.max_seq_len={steps[1]}: their decoding steps are "
            'characters, compared step by step (decoder hidden states, logits), so both '
            'decoders need the same max_seq_len. No weight depends on it: set '
            f'model.student.decoder.max_seq_len={steps[0]} (the teacher\'s; more decoding '
            'steps per read), or, where every '
            f'label has at most {min(steps) - 1} characters, model.teacher.decoder.max_seq_len='
            f'{steps[1]} (a teacher-forced step reads only the steps before it, so its first '
            f'{min(steps)} steps are the same either way).')


def _difference(teacher: list, student: list, first: int) -> str:
    """``: the teacher holds 'Z', the student '9'; only the teacher's: '-'``:
    what each side holds at the first differing index, and the characters
    one side holds and the other does not (the error named an index alone,
    which a user then counted out in two dict files)."""
    def at(whose: str, chars: list) -> str:
        return (f'the {whose} holds {chars[first]!r}' if first < len(chars) else
                f"the {whose}'s ends there")

    said = [f"{at('teacher', teacher)}, {at('student', student)}"]
    for whose, one, other in (("teacher's", teacher, student), ("student's", student, teacher)):
        others = set(other)
        only = [repr(c) for c in one if c not in others]
        if only:
            said.append(f'only the {whose}: {first_and_more(only, 8)}')
    if len(said) == 1:
        said.append('the same characters in another order')
    return ': ' + '; '.join(said)


#: why HR crops of another size than ``base_size`` are refused: said by the
#: distiller at the first step, and by the tools from the training pipeline
HR_SIZE_REASON = ("the teacher's FLOPs, which every scale's cost is relative to, are counted "
                  "at base_size; resize both streams to it (ResizePair's hr_size = lr_size = "
                  'base_size; teacher_scale reads the HR crop smaller)')
