"""Refuse, before the first step, training labels the decoder cannot emit whole."""
import logging
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from dld.datasets import BasePlateDataset, OnlineSynthPlateDataset, nested_datasets
from dld.models.distillers.ctc_frames import (
    ctc_frames_by_scale,
    ctc_length,
    frames_at_scales,
    loader_input_size,
    recognizer_ctc_frames,
)
from dld.registry import HOOKS

from .label_check_hook import Finding, LabelCheckError, LabelCheckHook, line_order, listing


class CTCFrames(NamedTuple):
    """The frames a CTC recognizer reads at its own input of ``size``, or a
    DLD CTC student at its largest ``scale``."""
    frames: int
    size: Tuple[int, int]
    scale: Optional[float] = None

    def said(self) -> str:
        h, w = self.size
        if self.scale is None:
            return f'the {self.frames} frame(s) the CTC recognizer reads at its {h}x{w} input'
        return (f'the {self.frames} frame(s) the CTC student reads at its largest scale, '
                f'{self.scale:g} (a {h}x{w} input)')


@HOOKS.register_module()
class LabelLengthCheckHook(LabelCheckHook):
    """Check every label of the plate sets on disk against the shortest
    ``max_seq_len - 1`` of the model's attention decoders (student and
    teacher alike).

    Why: an attention decoder emits at most ``max_seq_len - 1`` characters
    and its EOS. Training cuts a longer label so that it still learns where
    to stop, and the model can then never read that plate: data lost without
    a word, seen only as a low accuracy. A training label over the limit is
    an error naming its annotation (file and line) before any step runs; a
    validation label over it only warns, since it is still an honest
    measurement (always a misread). Sets rendered when read are held to it
    by their layouts' longest label (:func:`layout_labels`).

    A DLD student with a CTC decoder reads as many frames as its encoder
    gives at each scale (the width over the backbone's width stride): a
    label of more characters (and repeats, which CTC separates by a blank)
    cannot be read at a scale that gives fewer, which the selector may
    still pick. That is warned of, per scale (a backbone of width stride 8
    gave 6 frames at 0.3x for 7-character plates, and nothing said so); a
    training label that needs more than its largest scale gives is read at
    none, and stops the run as a plain CTC recognizer's does (a selector
    stage, whose student is trained already, warns), and validation and
    test labels are warned of against that scale.
    A recognizer of its own with a CTC decoder is held to the frames it
    reads, as an attention decoder to its length: CTC's loss is zero for a
    label it cannot align (``zero_infinity``), so such labels were dropped
    without a word. A training label is held to the largest scale it trains
    at (its pipeline's input size, or the largest of its ``train_scales``),
    and a smaller train scale warns as a DLD student's scales do; a
    validation or test label to the size that set's pipeline gives.

    Args:
        check_val (bool): also warn about validation labels.
    """

    def before_train(self, runner) -> None:
        own = recognizer_ctc_frames(runner.model, runner.train_dataloader, training=True)
        if own:
            self._check_ctc_recognizer(runner, own)
        else:
            super().before_train(runner)
        frames = ctc_frames_by_scale(runner.model)
        if frames:
            self._check_ctc_student(runner, frames)
        self._warn_of_aux_ctc_heads(runner)

    def _warn_of_aux_ctc_heads(self, runner) -> None:
        """A training-only CTC head (``aux_decoder``, the quickstart
        teacher's) reads the frames of its recognizer's encoder: a training
        label that needs more has its loss zeroed (``zero_infinity``), the
        head never learning it, without a word (the main decoder's check
        held the label to the attention decoder's length only)."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        student = getattr(model, 'student', None)
        if student is not None:
            name, recognizer = 'model.student', student
            scales = getattr(model, 'scales', None) or (1.0, )
            size = getattr(model, 'base_size', None)
        else:
            name, recognizer = 'model', model
            scales = getattr(model, 'train_scales', None) or (1.0, )
            size = loader_input_size(runner.train_dataloader)
        aux = getattr(recognizer, 'aux_decoder', None)
        if aux is None or size is None or not getattr(aux, 'logits_per_frame', False):
            return
        top = max(float(s) for s in scales)
        steps, (h, w) = frames_at_scales(recognizer, size, [top])[top]
        found = self.find(runner.train_dataloader, CTCFrames(steps, (h, w), top))
        if found:
            print_log(
                f'{len(found)} training label(s) need more than the {steps} frame(s) the '
                f'auxiliary CTC head ({name}.aux_decoder) reads at a {h}x{w} input (a '
                'character each, and a blank between two alike): its loss of them is zero '
                f'(zero_infinity), the head never learns them:\n{listing(found)}\nGive the '
                "model a wider input (the pipeline's ResizePair size), or remove "
                f'{name}.aux_decoder.', logger='current', level=logging.WARNING)

    def before_test(self, runner) -> None:
        own = recognizer_ctc_frames(runner.model, runner.test_dataloader)
        if not own:
            super().before_test(runner)
            student = ctc_frames_by_scale(runner.model)
            if student and self.check_val:  # none of its scales reads them
                top = max(student)
                self._warn_of_ctc_labels(runner.test_dataloader, CTCFrames(*student[top], top),
                                         'test')
            return
        if self.check_val:
            self._warn_of_ctc_labels(runner.test_dataloader, CTCFrames(*own[1.0]), 'test')

    def _check_ctc_student(self, runner, frames: Dict[float, Tuple[int, Tuple]]) -> None:
        """A DLD CTC student's training labels against its largest scale
        (a label that needs more is read at none: its loss the constant
        ``unalignable_nll``, never learned; it only warned, of every scale
        alike), and its smaller scales warned of."""
        top = max(frames)
        limit = CTCFrames(*frames[top], top)
        found = self.find(runner.train_dataloader, limit)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if found and getattr(model, 'train_student', True):
            raise LabelCheckError(self.training_error(len(found), listing(found), limit))
        if found:  # a selector stage: the student is trained already
            print_log(self.validation_warning(len(found), listing(found), limit, 'training'),
                      logger='current', level=logging.WARNING)
        smaller = {s: f for s, f in frames.items() if s < top}
        if smaller:
            self._warn_of_short_scales(runner.train_dataloader, smaller)
        if self.check_val and runner.val_loop is not None:
            self._warn_of_ctc_labels(runner.val_dataloader, limit, 'validation')

    def _check_ctc_recognizer(self, runner, own: Dict[float, Tuple[int, Tuple]]) -> None:
        top = max(own)
        limit = CTCFrames(*own[top])
        found = self.find(runner.train_dataloader, limit)
        if found:
            raise LabelCheckError(self.training_error(len(found), listing(found), limit))
        smaller = {s: f for s, f in own.items() if s < top}
        if smaller:
            self._warn_of_short_scales(runner.train_dataloader, smaller, 'the recognizer',
                                       'its scale augmentation trains at', 'model.train_scales')
        if self.check_val and runner.val_loop is not None:
            val = recognizer_ctc_frames(runner.model, runner.val_dataloader)
            if val:
                self._warn_of_ctc_labels(runner.val_dataloader, CTCFrames(*val[1.0]),
                                         'validation')

    def _warn_of_ctc_labels(self, dataloader, limit: CTCFrames, split: str) -> None:
        found = self.find(dataloader, limit)
        if found:
            print_log(self.validation_warning(len(found), listing(found), limit, split),
                      logger='current', level=logging.WARNING)

    def _warn_of_short_scales(self, dataloader, frames: Dict[float, Tuple[int, Tuple]],
                              reader: str = 'the CTC student',
                              picked: str = 'the selector may still pick',
                              setting: str = 'model.scales') -> None:
        # labels, not the frames of a track each listed under its line
        labels = {where: text
                  for dataset in nested_datasets(getattr(dataloader, 'dataset', None))
                  if isinstance(dataset, BasePlateDataset)
                  for where, text in dataset.item_labels()}
        for scale, (steps, size) in sorted(frames.items(), reverse=True):
            longer = [(where, text) for where, text in labels.items() if ctc_length(text) > steps]
            if longer:
                where, longest = max(longer, key=lambda item: ctc_length(item[1]))
                print_log(
                    f'At scale {scale:g} (a {size[0]}x{size[1]} input) {reader} reads '
                    f'{steps} frame(s): {len(longer)} of {len(labels)} training label(s) need '
                    f'more (e.g. {where}: {longest!r} needs {ctc_length(longest)}) and cannot be '
                    f'read at that scale, which {picked}. Give {setting} no scale that small, '
                    'or the model a backbone of a smaller width stride.',
                    logger='current', level=logging.WARNING)

    def model_limits(self, model) -> Optional[int]:
        return max_label_length(model)

    def find(self, dataloader, limit: Union[int, CTCFrames]) -> List[Finding]:
        """``(annotation, label)`` of each track whose label exceeds ``limit``
        (characters, or the frames CTC needs)."""
        ctc = isinstance(limit, CTCFrames)
        found = {}
        for dataset in nested_datasets(getattr(dataloader, 'dataset', None)):
            if isinstance(dataset, OnlineSynthPlateDataset):
                labels = layout_labels(dataset)
            elif isinstance(dataset, BasePlateDataset):
                labels = dataset.item_labels()
            else:
                continue
            for where, text in labels:
                if ctc and ctc_length(text) > limit.frames:
                    found.setdefault(where, f'{text!r} (needs {ctc_length(text)} frames)')
                elif not ctc and len(text) > limit:
                    found.setdefault(where, f'{text!r} ({len(text)} characters)')
        return sorted(found.items(), key=lambda item: line_order(item[0]))

    def training_error(self, count: int, listed: str, limit: Union[int, CTCFrames]) -> str:
        if isinstance(limit, CTCFrames):
            lost = ('their loss would be zero' if limit.scale is None else
                    'no scale reads them, their loss a constant')
            return (f'{count} training label(s) need more than {limit.said()} (a character '
                    f'each, and a blank between two alike); {lost}, the labels never '
                    f'learned:\n{listed}\nGive the model a wider input '
                    "(the pipeline's ResizePair size) or a backbone of a smaller width "
                    'stride, or remove those lines.')
        which = getattr(limit, 'decoder', None) or 'the decoder'
        return (f'{count} training label(s) have more than {limit} characters, the most '
                f'{which} emits (its max_seq_len - 1); training would cut them:\n{listed}\n'
                "Raise the decoders' max_seq_len (model.decoder, or model.student.decoder "
                'and model.teacher.decoder of a distiller) or remove those lines'
                + (" (a set rendered when read: drop the layout from its layouts)"
                   if " layout '" in listed else '') + '.')

    def validation_warning(self, count: int, listed: str, limit: Union[int, CTCFrames],
                           split: str = 'validation') -> str:
        if isinstance(limit, CTCFrames):
            return (f'{count} {split} label(s) need more than {limit.said()} and can never '
                    f'be read whole (each counts as a misread):\n{listed}')
        return (f'{count} {split} label(s) have more than {limit} characters and can '
                f'never be read whole (each counts as a misread):\n{listed}')


class DecoderLimit(int):
    """A label length limit, with ``decoder``: the config key of the decoder
    that sets it (``'model.teacher.decoder'``), for the refusal to name (a
    distiller's teacher of a shorter ``max_seq_len`` than its student's was
    "the decoder")."""

    decoder: str = ''

    def __new__(cls, value: int, decoder: str = '') -> 'DecoderLimit':
        limit = super().__new__(cls, value)
        limit.decoder = decoder
        return limit


def max_label_length(model) -> Optional[DecoderLimit]:
    """The longest label every attention decoder of ``model`` emits whole;
    None when it has none (CTC)."""
    limits = [(m.max_seq_len - 1, name) for name, m in model.named_modules()
              if isinstance(getattr(m, 'max_seq_len', None), int)]
    if not limits:
        return None
    value, name = min(limits, key=lambda limit: limit[0])
    name = name[len('module.'):] if name.startswith('module.') else name  # a wrapper's
    return DecoderLimit(value, f'model.{name}' if name else 'the model')


def layout_labels(dataset: OnlineSynthPlateDataset) -> List[Tuple[str, str]]:
    """``(set and layout, label)`` of each layout a set rendered when read
    draws: a label of the layout's length (every label of a layout has it)
    with as few neighbours alike as its slots allow, so that CTC is held to
    the frames every label of the layout needs, not to a rare draw's. Their
    training labels were not checked, and a layout longer than the decoder
    emits was cut in training without a word."""
    from dld.datasets.synth.plate_text import _SLOTS, label_pattern
    out = []
    for name, pattern in dataset.layouts:
        text, slots = '', label_pattern(pattern)
        for i, c in enumerate(slots):
            chars = set(_SLOTS.get(c, c))
            # unlike the character before, and the printed one after ('N0': '10', not '00')
            after = set(slots[i + 1]) if i + 1 < len(slots) and slots[i + 1] not in _SLOTS \
                else set()
            text += min(chars - set(text[-1:]) - after or chars - set(text[-1:]) or chars)
        out.append((f'{type(dataset).__name__} layout {name!r}', text))
    return out
