"""Command-line options shared by the tools: ``--cfg-options key=value ...``
that names a malformed pair. Kept out of ``dld.utils``, which imports torch:
a tool refuses bad arguments before any heavy import."""
from mmengine.config import DictAction


class ConfigOptionsAction(DictAction):
    """MMEngine's :class:`DictAction`, but an item without ``=`` is an
    argument error naming it (MMEngine fails with an unpacking traceback)."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if '=' not in item:
                parser.error(f'{option_string} takes key=value pairs (e.g. '
                             f'model.test_cfg.decode=beam), got {item!r}')
        super().__call__(parser, namespace, values, option_string)
