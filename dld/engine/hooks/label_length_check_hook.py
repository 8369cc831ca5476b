"""Refuse, before the first step, training labels the decoder cannot emit whole."""
from typing import List, Optional

from dld.datasets import BasePlateDataset, nested_datasets
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
    measurement (always a misread). Sets rendered when read and CTC models
    have no such limit to check.

    Args:
        check_val (bool): also warn about validation labels.
    """

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
