"""Checking ``--cfg-options`` keys against the config they change.

MMEngine merges any key: a misspelt top-level one (``train_cgf.max_epochs=50``,
``laod_from=ckpt.pth``, ``modle.test_cfg.force_scale=0.6``) becomes a new
setting that nothing reads, and the run goes on without the change, saying
nothing; a key that names a list's item by a name (``custom_hooks.start=1``)
or a negative index fails inside MMEngine's merge with ``list indices must
be integers``, one into a tuple (``model.scales.0=1.0``) with a message
about inheriting from a base. All are refused here, naming the option and
what was meant.
"""
import difflib
from typing import Iterable, Mapping

#: What ``mmengine.runner.Runner.from_cfg`` reads: an option may set these
#: where the config leaves them out (``load_from``, ``experiment_name``).
RUNNER_KEYS = (
    'auto_scale_lr', 'custom_hooks', 'data_preprocessor', 'default_hooks', 'default_scope',
    'env_cfg', 'experiment_name', 'launcher', 'load_from', 'log_level', 'log_processor',
    'model', 'optim_wrapper', 'param_scheduler', 'randomness', 'resume', 'test_cfg',
    'test_dataloader', 'test_evaluator', 'train_cfg', 'train_dataloader', 'val_cfg',
    'val_dataloader', 'val_evaluator', 'visualizer', 'work_dir')
#: Read by DLD and MMEngine's config loading.
OTHER_KEYS = ('custom_imports', )


class ConfigOptionError(ValueError):
    """A ``--cfg-options`` key the config cannot take as given."""


def check_option_keys(cfg: Mapping, keys: Iterable[str]) -> None:
    """Raise :class:`ConfigOptionError` for an option whose first part names
    nothing the config holds or the runner reads, or whose path names an
    item of a list by anything but its index."""
    for key in keys:
        parts = key.split('.')
        top = parts[0]
        if top not in cfg and top not in RUNNER_KEYS + OTHER_KEYS:
            known = sorted(set(cfg.keys()) | set(RUNNER_KEYS + OTHER_KEYS))
            close = difflib.get_close_matches(top, known, n=3, cutoff=0.6)
            hint = (f'did you mean {" or ".join(repr(c) for c in close)}?' if close else
                    f'the settings are {", ".join(known)}')
            raise ConfigOptionError(
                f'--cfg-options {key}: the config has no {top!r}, and the runner reads no '
                f'such setting, so it would change nothing; {hint}')
        _check_list_indices(cfg.get(top), parts, key)


def _check_list_indices(node, parts, key: str) -> None:
    path = parts[0]
    for part in parts[1:]:
        if isinstance(node, tuple):  # MMEngine merges no item into a tuple
            raise ConfigOptionError(
                f'--cfg-options {key}: {path} is a tuple; set it whole, e.g. '
                f'{path}="{_example(node)}"')
        if isinstance(node, list):
            if not part.isdigit():
                raise ConfigOptionError(
                    f'--cfg-options {key}: {path} is a list of {len(node)}; name its item '
                    f'by index, e.g. {path}.0.{part}')
            index = int(part)
            if not -len(node) <= index < len(node):
                return  # MMEngine names an index out of range
            node = node[index]
        elif isinstance(node, Mapping):
            node = node.get(part)
        else:
            return  # a key the option adds: the built class checks its arguments
        path = f'{path}.{part}'


def _example(values: tuple) -> str:
    return '(' + ','.join(repr(v) for v in values) + (',)' if len(values) == 1 else ')')
