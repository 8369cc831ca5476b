"""Refuse, before the first step, training labels a decoder cannot spell."""
from typing import Dict, Iterator, List, Optional, Tuple

from dld.datasets import BasePlateDataset, OnlineSynthPlateDataset, nested_datasets
from dld.registry import HOOKS

from .label_check_hook import Finding, LabelCheckHook, line_order


@HOOKS.register_module()
class LabelCharsCheckHook(LabelCheckHook):
    """Check the training labels against every decoder's dictionary (student,
    teacher, auxiliary heads).

    Why: each dataset validates its labels against its own ``dictionary``,
    and each decoder builds its own. When they differ, a character a
    decoder lacks stopped training mid-epoch with a traceback naming no
    file, and a decoder that is not case sensitive upper-cased a
    case-sensitive set's labels without a word, so the model could never
    read lower case. A training label some decoder would not spell as it is
    written stops the run before its first step, naming its annotation and
    the decoder; a validation label only warns (it is an honest misread).
    A decoder with ``unknown='ignore'`` is refused too: it would drop the
    characters from the label it learns. Sets rendered when read are
    checked by their layouts' characters.

    Args:
        check_val (bool): also warn about validation labels.
    """

    def model_limits(self, model) -> Optional[Dict[str, object]]:
        return decoder_dictionaries(model) or None

    def find(self, dataloader, dictionaries: Dict[str, object]) -> List[Finding]:
        """Each line whose label some decoder cannot spell (each distinct
        label checked once)."""
        found = {}
        verdicts: Dict[str, str] = {}
        for where, text in _labels(dataloader):
            if text not in verdicts:
                verdicts[text] = next(
                    (f'{name} {why}' for name, dictionary in dictionaries.items()
                     if (why := spelling_problem(text, dictionary))), '')
            if verdicts[text]:
                found.setdefault(where, f'{text!r}: {verdicts[text]}')
        return sorted(found.items(), key=lambda item: line_order(item[0]))

    def training_error(self, count: int, listed: str, dictionaries) -> str:
        return (f"{count} training label(s) cannot be spelt by the model's decoders as "
                f"written:\n{listed}\nGive the decoders the dataset's dictionary "
                '(model.decoder.dictionary, or model.student.decoder.dictionary and '
                'model.teacher.decoder.dictionary of a distiller: the same chars or '
                'dict_file, and case_sensitive) or remove those lines.')

    def validation_warning(self, count: int, listed: str, dictionaries,
                           split: str = 'validation') -> str:
        return (f"{count} {split} label(s) cannot be spelt by the model's decoders and "
                f'can never be read right:\n{listed}')


def decoder_dictionaries(model) -> Dict[str, object]:
    """``{module name: Dictionary}`` of every decoder of ``model``, each
    dictionary once, under the longest name that holds it (a recognizer
    exposes its decoder's: ``teacher.decoder``, not ``teacher``)."""
    from dld.models.dictionary import Dictionary
    names: Dict[int, Tuple[str, object]] = {}
    for name, module in model.named_modules():
        dictionary = getattr(module, 'dictionary', None)
        if isinstance(dictionary, Dictionary):
            name = name or 'model'
            known = names.get(id(dictionary))
            if known is None or len(name) > len(known[0]):
                names[id(dictionary)] = (name, dictionary)
    return dict(names.values())


def spelling_problem(text: str, dictionary) -> str:
    """Why ``dictionary`` would not spell ``text`` as written; '' when it would."""
    unknown = dictionary.unknown_chars(text)
    if unknown:
        return f'lacks {"".join(sorted(set(unknown)))!r}'
    if dictionary.normalize(text) != text:
        return 'upper-cases it (case_sensitive=False)'
    return ''


def _labels(dataloader) -> Iterator[Tuple[str, str]]:
    """``(annotation, label)`` of the sets on disk, ``(set, alphabet)`` of
    the sets rendered when read."""
    from dld.datasets.synth.plate_text import label_chars
    for dataset in nested_datasets(getattr(dataloader, 'dataset', None)):
        if isinstance(dataset, BasePlateDataset):
            yield from dataset.item_labels()
        elif isinstance(dataset, OnlineSynthPlateDataset):
            for name, pattern in dataset.layouts:
                yield f'{type(dataset).__name__} layout {name!r}', label_chars(pattern)
