"""Refuse, before the first step, training labels the decoder cannot emit whole."""
import logging
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

from mmengine.logging import print_log

from dld.datasets import BasePlateDataset, nested_datasets
from dld.models.distillers.ctc_frames import (
    ctc_frames_by_scale,
    ctc_length,
    recognizer_ctc_frames,
)
from dld.registry import HOOKS

from .label_check_hook import Finding, LabelCheckHook, line_order


class CTCFrames(NamedTuple):
    """The frames a CTC recognizer reads at its own input of ``size``."""
    frames: int
    size: Tuple[int, int]


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
    measurement (always a misread). Sets rendered when read have no such
    limit to check.

    A DLD student with a CTC decoder reads as many frames as its encoder
    gives at each scale (the width over the backbone's width stride): a
    label of more characters (and repeats, which CTC separates by a blank)
    cannot be read at a scale that gives fewer, which the selector may
    still pick. That is warned of, per scale (a backbone of width stride 8
    gave 6 frames at 0.3x for 7-character plates, and nothing said so).
    A recognizer of its own with a CTC decoder is held to the frames it
    reads at its input (the size its pipeline resizes to), as an attention
    decoder to its length: CTC's loss is zero for a label it cannot align
    (``zero_infinity``), so such labels were dropped without a word; its
    ``train_scales`` below 1.0 warn as a DLD student's scales do.

    Args:
        check_val (bool): also warn about validation labels.
    """

    _own_frames: Dict[float, Tuple[int, Tuple[int, int]]] = {}

    def before_train(self, runner) -> None:
        self._own_frames = recognizer_ctc_frames(runner.model, runner.train_dataloader)
        super().before_train(runner)
        frames = ctc_frames_by_scale(runner.model)
        if frames:
            self._warn_of_short_scales(runner.train_dataloader, frames)
        smaller = {s: f for s, f in self._own_frames.items() if s < 1.0}
        if smaller:
            self._warn_of_short_scales(runner.train_dataloader, smaller,
                                       'the recognizer', 'its scale augmentation trains at '
                                       '(model.train_scales)')

    def before_test(self, runner) -> None:
        self._own_frames = recognizer_ctc_frames(runner.model, runner.test_dataloader)
        super().before_test(runner)

    def _warn_of_short_scales(self, dataloader, frames: Dict[float, Tuple[int, Tuple]],
                              reader: str = 'the CTC student',
                              picked: str = 'the selector may still pick') -> None:
        labels = [text for dataset in nested_datasets(getattr(dataloader, 'dataset', None))
                  if isinstance(dataset, BasePlateDataset)
                  for _, text in dataset.item_labels()]
        for scale, (steps, size) in sorted(frames.items(), reverse=True):
            longer = [t for t in labels if ctc_length(t) > steps]
            if longer:
                longest = max(longer, key=ctc_length)
                print_log(
                    f'At scale {scale:g} (a {size[0]}x{size[1]} input) {reader} reads '
                    f'{steps} frame(s): {len(longer)} of {len(labels)} training label(s) need '
                    f'more (e.g. {longest!r} needs {ctc_length(longest)}) and cannot be read at '
                    f'that scale, which {picked}. Give '
                    f"{'model.scales' if reader == 'the CTC student' else 'model.train_scales'}"
                    ' no scale that small, or the model a backbone of a smaller width stride.',
                    logger='current', level=logging.WARNING)

    def model_limits(self, model) -> Optional[Union[int, CTCFrames]]:
        limit = max_label_length(model)
        if limit is None and 1.0 in self._own_frames:
            return CTCFrames(*self._own_frames[1.0])
        return limit

    def find(self, dataloader, limit: Union[int, CTCFrames]) -> List[Finding]:
        """``(annotation, label)`` of each track whose label exceeds ``limit``
        (characters, or the frames CTC needs)."""
        ctc = isinstance(limit, CTCFrames)
        found = {}
        for dataset in nested_datasets(getattr(dataloader, 'dataset', None)):
            if not isinstance(dataset, BasePlateDataset):
                continue
            for where, text in dataset.item_labels():
                if ctc and ctc_length(text) > limit.frames:
                    found.setdefault(where, f'{text!r} (needs {ctc_length(text)} frames)')
                elif not ctc and len(text) > limit:
                    found.setdefault(where, f'{text!r} ({len(text)} characters)')
        return sorted(found.items(), key=lambda item: line_order(item[0]))

    def training_error(self, count: int, listed: str, limit: Union[int, CTCFrames]) -> str:
        if isinstance(limit, CTCFrames):
            return (f'{count} training label(s) need more than the {limit.frames} frame(s) the '
                    f'CTC recognizer reads at its {limit.size[0]}x{limit.size[1]} input (a '
                    'character each, and a blank between two alike); their loss would be zero, '
                    f'the labels never learned:\n{listed}\nGive the model a wider input '
                    "(the pipeline's ResizePair size) or a backbone of a smaller width "
                    'stride, or remove those lines.')
        return (f'{count} training label(s) have more than {limit} characters, the most the '
                f'decoder emits (max_seq_len - 1); training would cut them:\n{listed}\n'
                "Raise the decoders' max_seq_len (model.decoder, or model.student.decoder "
                'and model.teacher.decoder of a distiller) or remove those lines.')

    def validation_warning(self, count: int, listed: str, limit: Union[int, CTCFrames],
                           split: str = 'validation') -> str:
        if isinstance(limit, CTCFrames):
            return (f'{count} {split} label(s) need more than the {limit.frames} frame(s) the '
                    f'CTC recognizer reads at its {limit.size[0]}x{limit.size[1]} input and '
                    f'can never be read whole (each counts as a misread):\n{listed}')
        return (f'{count} {split} label(s) have more than {limit} characters and can '
                f'never be read whole (each counts as a misread):\n{listed}')


def max_label_length(model) -> Optional[int]:
    """The longest label every attention decoder of ``model`` emits whole;
    None when it has none (CTC)."""
    limits = [m.max_seq_len - 1 for m in model.modules()
              if isinstance(getattr(m, 'max_seq_len', None), int)]
    return min(limits) if limits else None
