"""Command-line options shared by the tools: ``--cfg-options key=value ...``
that names a malformed pair. Kept out of ``dld.utils``, which imports torch:
a tool refuses bad arguments before any heavy import."""
import difflib
from typing import Optional

from mmengine.config import DictAction

#: The words MMEngine's DictAction reads as Python values (True/False in any
#: case, None spelt so); any other word stays a string.
_WORDS = {'true': 'True', 'false': 'False', 'none': 'None'}


class ConfigOptionsAction(DictAction):
    """MMEngine's :class:`DictAction`, refusing, as argument errors naming the
    item, what it would take wrongly:

    * an item without ``=`` (MMEngine fails with an unpacking traceback);
    * a ``dict(...)`` or ``{...}`` value, which MMEngine cannot parse (a
      ``RecursionError``, or a string where a dict belongs): set its keys
      one by one;
    * a misspelt ``True``/``False``/``None`` (``flase``, ``ture``, ``none``),
      which MMEngine passes on as a string, and a string is true: a
      ``model.init_student_from_teacher=flase`` trained as if ``True``. A
      string that is meant is quoted (``key="'tree'"``).
    """

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if '=' not in item:
                parser.error(f'{option_string} takes key=value pairs (e.g. '
                             f'model.test_cfg.decode=beam), got {item!r}')
            key, value = item.split('=', 1)
            if 'dict(' in value.replace(' ', '') or value.strip().startswith('{'):
                parser.error(f'{option_string} {item}: a dict cannot be given as a value; set '
                             f'its keys one by one ({key}.type=... {key}.loss_weight=...), an '
                             f'item of a list by its index ({key}.0.type=...)')
            meant = misspelt_word(value)
            if meant is not None:
                parser.error(f'{option_string} {item}: {value!r} would be the string '
                             f'{value!r}, which counts as true; did you mean {meant}? (Quote '
                             f'a string that is meant: {key}="\'{value}\'")')
        super().__call__(parser, namespace, values, option_string)


def misspelt_word(value: str) -> Optional[str]:
    """``'False'`` for ``'flase'`` (``'True'``, ``'None'`` alike): the word
    a value close to one of MMEngine's words was meant to be; None for the
    words themselves, quoted values and anything else."""
    word = value.strip()
    if not word.isalpha() or word.lower() in ('true', 'false') or word == 'None':
        return None
    low = word.lower()
    if low in ('none', 'null'):
        return 'None'
    for spelt, meant in _WORDS.items():
        if abs(len(low) - len(spelt)) <= 1 and (
                sorted(low) == sorted(spelt)
                or difflib.SequenceMatcher(None, low, spelt).ratio() >= 0.75):
            return meant
    return None
