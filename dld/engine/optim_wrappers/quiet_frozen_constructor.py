"""MMEngine's optimizer-wrapper constructor, saying the frozen parameters once.

With a ``paramwise_cfg`` (``custom_keys`` with ``lr_mult=0`` to freeze a
student's backbone while fine-tuning, ``norm_decay_mult``, ...), MMEngine
logs one WARNING per parameter that does not train, ``teacher.backbone.stem.0.weight
is skipped since its requires_grad=False``: a DLD model's frozen teacher
filled the log with a line per teacher weight. Registered under MMEngine's
name in DLD's scope, so every config gets it: the same optimizer, with one
INFO line counting the parameters left out, by part. MMEngine's INFO line per
setting of each parameter a ``custom_keys`` entry matches
(``paramwise_options -- student.backbone.stem.0.weight:lr_mult=0.0``, four per
weight: 156 lines for a tiny backbone) is summed the same way: one line per
group of settings, counting its parameters by part.
"""
import logging
from collections import Counter

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor as MMEngineConstructor

from dld.registry import OPTIM_WRAPPER_CONSTRUCTORS

_SKIPPED = ' is skipped since its requires_grad=False'
_PARAMWISE = 'paramwise_options -- '


class _FrozenCounter(logging.Filter):
    """Drops MMEngine's per-parameter line, counting it by top-level part."""

    def __init__(self) -> None:
        super().__init__()
        self.parts = Counter()
        # parameter name -> its paramwise settings ('lr_mult=0.0', ...), in order
        self.settings = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(_PARAMWISE):
            name, _, setting = message[len(_PARAMWISE):].rpartition(':')
            self.settings.setdefault(name, []).append(setting)
            return False
        if not message.endswith(_SKIPPED):
            return True
        name = message[:-len(_SKIPPED)].lstrip('.')
        self.parts[name.split('.')[0] + '.*' if '.' in name else name] += 1
        return False


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(name='DefaultOptimWrapperConstructor')
class DefaultOptimWrapperConstructor(MMEngineConstructor):
    """MMEngine's, with its per-parameter "requires_grad=False" lines summed up."""

    def __call__(self, model):
        logger = MMLogger.get_current_instance()
        counter = _FrozenCounter()
        logger.addFilter(counter)
        try:
            wrapper = super().__call__(model)
        finally:
            logger.removeFilter(counter)
        if counter.parts:
            parts = ', '.join(f'{part}: {n}' for part, n in sorted(counter.parts.items()))
            print_log(f'{sum(counter.parts.values())} frozen parameter(s) left out of the '
                      f'optimizer ({parts})', logger='current')
        groups = {}
        for name, settings in counter.settings.items():
            groups.setdefault(', '.join(settings), Counter())[_part(name)] += 1
        for settings, parts in groups.items():
            said = ', '.join(f'{part}: {n}' for part, n in sorted(parts.items()))
            print_log(f'paramwise_cfg: {sum(parts.values())} parameter(s) with {settings} '
                      f'({said})', logger='current')
        return wrapper


def _part(name: str) -> str:
    """``student.backbone.*`` of ``student.backbone.stem.0.weight``."""
    parts = name.split('.')
    return '.'.join(parts[:2]) + '.*' if len(parts) > 2 else name
