"""Command-line options shared by the tools: ``--cfg-options key=value ...``
that names a malformed pair. Kept out of ``dld.utils``, which imports torch:
a tool refuses bad arguments before any heavy import."""
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
    go, as before.

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
                parser.error(f'{option_string} {item}: a dict cannot be given as a value; set '
                             f'its keys one by one ({key}.type=... {key}.loss_weight=...), an '
                             f'item of a list by its index ({key}.0.type=...)')
        super().__call__(parser, namespace, values, option_string)


    @staticmethod
    def _parse_iterable(val: str):
        """MMEngine's parse (lists, tuples, numbers, booleans, None) with
        each value stripped of the spaces around it only."""
        val = val.strip().strip('\'"')
        is_tuple = val.startswith('(') and val.endswith(')')
        if is_tuple or (val.startswith('[') and val.endswith(']')):
            val = val[1:-1]
        elif ',' not in val:
            return DictAction._parse_int_float_bool(val)
        items = []
        depth, start = 0, 0
        for i, char in enumerate(val + ','):
            depth += (char in '([') - (char in ')]')
            if char == ',' and depth == 0:
                if val[start:i].strip() or i < len(val):
                    items.append(ConfigOptionsAction._parse_iterable(val[start:i]))
                start = i + 1
        return tuple(items) if is_tuple else items
