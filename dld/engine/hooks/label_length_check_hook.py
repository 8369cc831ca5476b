"""Refuse, before the first step, training labels the decoder cannot emit whole."""
import logging
from typing import List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log

from dld.datasets import BasePlateDataset, nested_datasets
from dld.registry import HOOKS


@HOOKS.register_module()
class LabelLengthCheckHook(Hook):
    """Check every label of the plate sets on disk against the shortest
    ``max_seq_len - 1`` of the model's attention decoders (student and
    teacher alike).

    Why: an attention decoder emits at most ``max_seq_len - 1`` characters
    and its EOS. Training cuts a longer label so that it still learns where
    to stop, and the model can then never read that plate: data lost without
    a word, seen only as a low accuracy. A training label over the limit is
    an error naming its annotation (file and line) before any step runs; a
    validation label over it only warns, since it is still an honest
    measurement (always a misread). Sets rendered when read and CTC models
    have no such limit to check.

    Args:
        check_val (bool): also warn about validation labels.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_val: bool = True) -> None:
        self.check_val = check_val

    def before_train(self, runner) -> None:
        limit = max_label_length(runner.model)
        if limit is None:
            return
        too_long = _too_long(runner.train_dataloader, limit)
        if too_long:
            raise ValueError(
                f'{len(too_long)} training label(s) have more than {limit} characters, '
                f'the most the decoder emits (max_seq_len - 1); training would cut them:\n'
                f'{_listing(too_long)}\nRaise the decoders\' max_seq_len (model.decoder, or '
                'model.student.decoder and model.teacher.decoder of a distiller) or '
                'remove those lines.')
        if self.check_val and runner.val_loop is not None:
            too_long = _too_long(runner.val_dataloader, limit)
            if too_long:
                print_log(
                    f'{len(too_long)} validation label(s) have more than {limit} characters '
                    f'and can never be read whole (each counts as a misread):\n'
                    f'{_listing(too_long)}', logger='current', level=logging.WARNING)


def max_label_length(model) -> Optional[int]:
    """The longest label every attention decoder of ``model`` emits whole;
    None when it has none (CTC)."""
    limits = [m.max_seq_len - 1 for m in model.modules()
              if isinstance(getattr(m, 'max_seq_len', None), int)]
    return min(limits) if limits else None


def _too_long(dataloader, limit: int) -> List[Tuple[str, str]]:
    """``(annotation, label)`` of each track whose label exceeds ``limit``."""
    found = {}
    for dataset in nested_datasets(getattr(dataloader, 'dataset', None)):
        if not isinstance(dataset, BasePlateDataset):
            continue
        for where, text in dataset.item_labels():
            if len(text) > limit:
                found.setdefault(where, text)
    return sorted(found.items())


def _listing(items: List[Tuple[str, str]], shown: int = 10) -> str:
    lines = [f'  {where}: {text!r} ({len(text)} characters)' for where, text in items[:shown]]
    if len(items) > shown:
        lines.append(f'  ... and {len(items) - shown} more')
    return '\n'.join(lines)
