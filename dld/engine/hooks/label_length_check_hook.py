"""Refuse, before the first step, training labels the decoder cannot emit whole."""
import logging
from typing import Dict, List, Optional, Tuple

from mmengine.logging import print_log

from dld.datasets import BasePlateDataset, nested_datasets
from dld.models.distillers.ctc_frames import ctc_frames_by_scale, ctc_length
from dld.registry import HOOKS

from .label_check_hook import Finding, LabelCheckHook, line_order


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

    Args:
        check_val (bool): also warn about validation labels.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        frames = ctc_frames_by_scale(runner.model)
        if frames:
            self._warn_of_short_scales(runner.train_dataloader, frames)

    def _warn_of_short_scales(self, dataloader, frames: Dict[float, Tuple[int, Tuple]]
                              ) -> None:
        labels = [text for dataset in nested_datasets(getattr(dataloader, 'dataset', None))
                  if isinstance(dataset, BasePlateDataset)
                  for _, text in dataset.item_labels()]
        for scale, (steps, size) in sorted(frames.items(), reverse=True):
            longer = [t for t in labels if ctc_length(t) > steps]
            if longer:
                longest = max(longer, key=ctc_length)
                print_log(
                    f'At scale {scale:g} (a {size[0]}x{size[1]} input) the CTC student reads '
                    f'{steps} frame(s): {len(longer)} of {len(labels)} training label(s) need '
                    f'more (e.g. {longest!r} needs {ctc_length(longest)}) and cannot be read at '
                    'that scale, which the selector may still pick. Give model.scales no scale '
                    'that small, or the student a backbone of a smaller width stride.',
                    logger='current', level=logging.WARNING)

    def model_limits(self, model) -> Optional[int]:
        return max_label_length(model)

    def find(self, dataloader, limit: int) -> List[Finding]:
        """``(annotation, label)`` of each track whose label exceeds ``limit``."""
        found = {}
        for dataset in nested_datasets(getattr(dataloader, 'dataset', None)):
            if not isinstance(dataset, BasePlateDataset):
                continue
            for where, text in dataset.item_labels():
                if len(text) > limit:
                    found.setdefault(where, f'{text!r} ({len(text)} characters)')
        return sorted(found.items(), key=lambda item: line_order(item[0]))

    def training_error(self, count: int, listed: str, limit: int) -> str:
        return (f'{count} training label(s) have more than {limit} characters, the most the '
                f'decoder emits (max_seq_len - 1); training would cut them:\n{listed}\n'
                "Raise the decoders' max_seq_len (model.decoder, or model.student.decoder "
                'and model.teacher.decoder of a distiller) or remove those lines.')

    def validation_warning(self, count: int, listed: str, limit: int,
                           split: str = 'validation') -> str:
        return (f'{count} {split} label(s) have more than {limit} characters and can '
                f'never be read whole (each counts as a misread):\n{listed}')


def max_label_length(model) -> Optional[int]:
    """The longest label every attention decoder of ``model`` emits whole;
    None when it has none (CTC)."""
    limits = [m.max_seq_len - 1 for m in model.modules()
              if isinstance(getattr(m, 'max_seq_len', None), int)]
    return min(limits) if limits else None
