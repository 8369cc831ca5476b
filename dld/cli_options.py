"""Command-line options shared by the tools: ``--cfg-options key=value ...``
that names a malformed pair. Kept out of ``dld.utils``, which imports torch:
a tool refuses bad arguments before any heavy import."""
import argparse
import os
import re

from mmengine.config import DictAction


class ConfigOptionsAction(DictAction):
    """MMEngine's :class:`DictAction`, refusing, as argument errors naming the
    item, what it would take wrongly:

    * an item without ``=`` (MMEngine fails with an unpacking traceback);
    * a ``dict(...)`` or ``{...}`` value, which MMEngine cannot parse (a
      ``RecursionError``, or a string where a dict belongs): set its keys
      one by one.

    and keeping the spaces inside a value (``data_root='/data/Daten
    München/'``), which MMEngine deletes; those around an item of a list
    go, as before. A value in quotes of its own holding a comma outside
    brackets (``"data_root='/data/plates,2024/'"``: the shell keeps the inner
    quotes) is that string as written (MMEngine made it a list); other quoted
    values parse as before (``'3'`` is 3, ``'(1.0,0.8)'`` a tuple).

    What needs the config (a misspelt key, a word given to a ``True``
    setting) is checked where the options are merged
    (:func:`dld.utils.config_option_keys.check_option_keys`).
    """

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if '=' not in item:
                parser.error(f'{option_string} takes key=value pairs (e.g. '
                             f'model.test_cfg.decode=beam), got {item!r}')
            key, value = item.split('=', 1)
            if 'dict(' in value.replace(' ', '') or value.strip().startswith('{'):
                names = re.findall(r"(\w+)\s*=(?!=)|['\"](\w+)['\"]\s*:", value)
                keys = list(dict.fromkeys(a or b for a, b in names))[:3] or ['type']
                if value.strip()[:1] in '[(':  # a list of dicts: its items by index
                    parser.error(
                        f'{option_string} {item}: a list of dicts cannot be given as a value; '
                        f'set the keys of each item the config has by its index '
                        f'({key}.0.{keys[0]}=... {key}.1.{keys[0]}=...); an item the config '
                        'lacks is added in a config of your own (docs/get_started.md)')
                parser.error(f'{option_string} {item}: a dict cannot be given as a value; set '
                             f"its keys one by one ({' '.join(f'{key}.{k}=...' for k in keys)}), "
                             f'an item of a list by its index ({key}.0.{keys[0]}=...)')
            if not _quoted(value.strip()) and not _balanced(value):
                parser.error(f'{option_string} {item}: its brackets do not pair up')
        super().__call__(parser, namespace, values, option_string)

    @staticmethod
    def _parse_iterable(val: str):
        """MMEngine's parse (lists, tuples, numbers, booleans, None) with
        each value stripped of the spaces around it only; ``(1,2),(3,4)``
        is a list of two tuples (MMEngine recursed without end)."""
        val = val.strip()
        if _quoted(val) and ',' in val and not _wrapped(val[1:-1].strip()):
            return val[1:-1]  # a string as written, its commas its own
        val = val.strip('\'"')
        wrapped = _wrapped(val)
        commas = _top_level_commas(val)
        if not wrapped and not commas:
            return DictAction._parse_int_float_bool(val)
        inner = val[1:-1] if wrapped else val
        bounds = [-1] + (_top_level_commas(inner) if wrapped else commas) + [len(inner)]
        items = [inner[a + 1:b] for a, b in zip(bounds, bounds[1:])]
        if items and not items[-1].strip():
            items.pop()  # '[a, b,]', '()': no item after the last comma
        parsed = [ConfigOptionsAction._parse_iterable(item) for item in items]
        if wrapped:
            return tuple(parsed) if val[0] == '(' else parsed
        return CommaList(parsed)


class CommaList(list):
    """A list made by the commas of a value without brackets (``a,b``): where
    the setting is a string, a path with a comma was meant, most likely
    (:func:`dld.utils.config_option_keys.check_option_keys` says so); a
    bracketed ``[a,b]`` is a list on purpose."""


def _quoted(val: str) -> bool:
    """Whether ``val`` is one string in quotes: ``'a,b'`` or ``"a,b"``."""
    return len(val) >= 2 and val[0] == val[-1] and val[0] in '\'"' and val[0] not in val[1:-1]


def _balanced(text: str) -> bool:
    """Whether every bracket of ``text`` closes, in order, one of its kind."""
    stack = []
    for char in text:
        if char in '([':
            stack.append(char)
        elif char in ')]':
            if not stack or '(['[')]'.index(char)] != stack.pop():
                return False
    return not stack


def _wrapped(val: str) -> bool:
    """Whether ``val`` is one bracketed list or tuple: its first bracket
    closes at its end (``(1,2),(3,4)`` is not)."""
    if len(val) < 2 or val[0] not in '([' or val[-1] != ')]'['(['.index(val[0])]:
        return False
    depth = 0
    for i, char in enumerate(val):
        depth += (char in '([') - (char in ')]')
        if depth == 0:
            return i == len(val) - 1
    return False


def _top_level_commas(val: str) -> list:
    """Where ``val`` has a comma outside brackets."""
    commas, depth = [], 0
    for i, char in enumerate(val):
        depth += (char in '([') - (char in ')]')
        if char == ',' and depth == 0:
            commas.append(i)
    return commas


def add_runner_arguments(parser: argparse.ArgumentParser, cfg_options_example: str) -> None:
    """The options every runner tool takes: ``--work-dir``, ``--cfg-options``,
    ``--launcher``, ``--brief`` and the ``--local-rank`` that
    torch.distributed.launch passes."""
    parser.add_argument('--work-dir', help="where to save the run's log and config (and a "
                        "training's checkpoints)")
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help=f'override config settings, e.g. {cfg_options_example}')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher')
    parser.add_argument('--brief', action='store_true',
                        help="keep the run's set-up text (system environment, config, hook "
                        'order: some 750 to 950 lines) off the terminal, in its log file')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)  # set by torch.distributed.launch


def parse_runner_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """``parser.parse_args``; a ``--local-rank`` becomes ``LOCAL_RANK`` unless
    torchrun set it already."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args
