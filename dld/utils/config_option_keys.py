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
from typing import Mapping, Optional

from .close_names import did_you_mean

#: What MMEngine's ``Runner`` reads of a config (``from_cfg`` and the
#: wrapping, compiling and checkpointing it does later): an option may set
#: these where the config leaves them out (``load_from``,
#: ``find_unused_parameters``).
RUNNER_KEYS = (
    'activation_checkpointing', 'auto_scale_lr', 'compile', 'custom_hooks',
    'data_preprocessor', 'default_hooks', 'default_scope', 'efficient_conv_bn_eval',
    'env_cfg', 'experiment_name', 'find_unused_parameters', 'launcher', 'load_from',
    'log_level', 'log_processor', 'model', 'model_wrapper_cfg', 'optim_wrapper',
    'param_scheduler', 'randomness', 'resume', 'sync_bn', 'test_cfg', 'test_dataloader',
    'test_evaluator', 'train_cfg', 'train_dataloader', 'val_cfg', 'val_dataloader',
    'val_evaluator', 'visualizer', 'work_dir')
#: Runner settings that must be lists: an option's dotted key would make a
#: dict of one where the config sets none, and the runner fail on it.
LIST_KEYS = ('custom_hooks', )
#: Read by DLD (the synthetic sets a config generates, dld/engine/launch.py)
#: and by MMEngine's config loading.
OTHER_KEYS = ('custom_imports', 'synth_plates', 'train_synth_plates')
#: The current value of an option that adds a key.
_ABSENT = object()
#: The words MMEngine's DictAction reads as Python values.
WORDS = {'true': 'True', 'false': 'False', 'none': 'None'}


class ConfigOptionError(ValueError):
    """A ``--cfg-options`` key the config cannot take as given."""


def check_option_keys(cfg: Mapping, options: Mapping) -> None:
    """Raise :class:`ConfigOptionError` for an option whose first part names
    nothing the config holds or the runner reads, whose path names an item
    of a list by anything but its index, or that gives a word to a setting
    that is ``True``/``False``/``None`` (:func:`_check_word`)."""
    for key, value in options.items():
        parts = key.split('.')
        top = parts[0]
        if top not in cfg and top not in RUNNER_KEYS + OTHER_KEYS:
            known = sorted(set(cfg.keys()) | set(RUNNER_KEYS + OTHER_KEYS))
            hint = (did_you_mean(top, known, n=3, quoted=True)
                    or f'the settings are {", ".join(known)}')
            raise ConfigOptionError(
                f'--cfg-options {key}: the config has no {top!r}, and the runner reads no '
                f'such setting, so it would change nothing; {hint}')
        if top in cfg and top not in RUNNER_KEYS + OTHER_KEYS and not top.startswith('_'):
            raise ConfigOptionError(_variable_message(cfg, key, parts))
        if top in LIST_KEYS and top not in cfg and len(parts) > 1:
            raise ConfigOptionError(
                f'--cfg-options {key}: {top} is a list, which the config does not set, so '
                f'{top}.{parts[1]} names nothing (the runner would fail on it); add it to '
                f'the config: {top} = [dict(type=..., ...)]')
        current = _check_list_indices(cfg.get(top, _ABSENT), parts, key)
        _check_word(key, value, current)
        _check_split_string(key, value, current)


def _variable_message(cfg: Mapping, key: str, parts) -> str:
    """Why an option on a variable of the config file (``max_epochs``,
    ``data_root``, ``train_pipeline``) is refused, naming the settings that
    hold its value, which are likely where the file used it."""
    value = cfg[parts[0]]
    rest = ''.join(f'.{p}' for p in parts[1:])
    holders = [] if value is None or isinstance(value, bool) else paths_holding(cfg, value)
    # a number is held by unrelated settings too (3 epochs, 3 input channels):
    # a few holders are all named, many only those named as the variable
    named = [h for h in holders if h.rsplit('.', 1)[-1] == parts[0]]
    holders = holders if len(holders) <= 4 else named
    shown = ', '.join(h + rest for h in holders)
    what = 'it' if isinstance(value, (Mapping, list, tuple)) else f'its value {value!r}'
    where = f' (those holding {what}: {shown})' if holders else ''
    return (f'--cfg-options {key}: {parts[0]!r} is a variable of the config file, put '
            'where the file uses it when the file was read; setting it now changes '
            f'nothing. Set the settings that use it instead{where}')


def paths_holding(cfg: Mapping, value, limit: int = 16, named: Optional[str] = None) -> list:
    """Dotted paths of the runner's settings whose value equals ``value``
    (the first ``limit``; ``named``: only settings of that name, counted
    so, or a value held by many unrelated settings filled the count first)."""
    found = []

    def walk(node, path):
        if len(found) >= limit:
            return
        same_kind = type(node) is type(value) or (isinstance(node, Mapping)
                                                  and isinstance(value, Mapping))
        if same_kind and node == value:
            if named is None or path.rsplit('.', 1)[-1] == named:
                found.append(path)
            return
        items = (node.items() if isinstance(node, Mapping) else
                 enumerate(node) if isinstance(node, (list, tuple)) else ())
        for k, v in items:
            walk(v, f'{path}.{k}')

    for key in RUNNER_KEYS + OTHER_KEYS:
        if key in cfg:
            walk(cfg[key], key)
    return found


def _check_list_indices(node, parts, key: str):
    """Raise for a list's item named otherwise than by its index; returns
    the option's current value (``_ABSENT`` where it adds a key)."""
    path = parts[0]
    for part in parts[1:]:
        if isinstance(node, tuple):  # MMEngine merges no item into a tuple
            raise ConfigOptionError(
                f'--cfg-options {key}: {path} is a tuple; set it whole, e.g. '
                f'{path}="{_example(node)}"')
        if isinstance(node, list):
            if part.startswith('-') and part[1:].isdecimal() and part[1:].isascii():
                raise ConfigOptionError(
                    f'--cfg-options {key}: {path} is a list of {len(node)}, and MMEngine '
                    f'takes no negative index; its last item is {path}.{len(node) - 1}')
            if not (part.isascii() and part.isdecimal()):
                raise ConfigOptionError(
                    f'--cfg-options {key}: {path} is a list of {len(node)}; name its item '
                    f'by index, e.g. {path}.0.{part}')
            index = int(part)
            if index >= len(node):  # MMEngine's KeyError came with its traceback
                last = (f'its last item is {path}.{len(node) - 1}' if node else 'it is empty')
                raise ConfigOptionError(
                    f'--cfg-options {key}: {path} is a list of {len(node)}, so {path}.{index} '
                    f'names nothing ({last}); add the item in the config: '
                    f'{path} = [..., dict(type=...)]')
            node = node[index]
        elif isinstance(node, Mapping):
            node = node.get(part, _ABSENT)
        elif node is _ABSENT and part.isascii() and part.isdecimal():
            # MMEngine makes {'2': value} of it, which the built class
            # refused deep inside (a conv2d() of strides={'2': (2, 1)})
            raise ConfigOptionError(
                f'--cfg-options {key}: the config sets no {path}, so {path}.{part} would make '
                f"it a dict {{'{part}': ...}}, not a list or tuple; set it whole, e.g. "
                f'{path}="(...)"')
        else:
            return _ABSENT  # a key the option adds: the built class checks its arguments
        path = f'{path}.{part}'
    return node


def _check_word(key: str, value, current) -> None:
    """A setting that is ``True``/``False`` given any word, or one that is
    ``None`` given a near miss of ``True``/``False``/``None``: MMEngine passes
    a word it does not know on as a string, and a string is true, so
    ``model.init_student_from_teacher=flase`` trained as if ``True``. A
    setting of another value (``teacher_gate='none'``) takes any word."""
    if not isinstance(value, str):
        return
    meant = _near_word(value)
    if isinstance(current, bool) or (current is None and meant is not None):
        guess = f'did you mean {meant}? ' if meant else ''
        raise ConfigOptionError(
            f'--cfg-options {key}={value}: {key} is {current}, and {value!r} would be the '
            f'string {value!r}, which counts as true; {guess}'.rstrip('; '))


def _check_split_string(key: str, value, current) -> None:
    """A string setting given a value its commas made a list
    (``data_root=/data/plates,2024/``): MMEngine's file reading failed on
    it with a bare ``AssertionError``. A bracketed list is given on purpose
    (``save_best=[plate/accuracy,plate/char_accuracy]``)."""
    from dld.cli_options import CommaList
    if isinstance(current, str) and isinstance(value, CommaList):
        raise ConfigOptionError(
            f'--cfg-options {key}: {key} is a string ({current!r}), and the commas of the '
            f'value made it the list {value!r}; to give a string with commas, put it in '
            f'quotes of its own, kept by the shell: "{key}=\'...\'"')


def _near_word(value: str):
    """``'False'`` for ``'flase'`` (``'True'``, ``'None'`` alike): the same
    letters, or one edit off, in any case; ``'None'`` for ``null``/``nil``
    too (JSON's and others' word for it); else None."""
    import editdistance
    low = value.strip().lower()
    if low in ('null', 'nil'):
        return 'None'
    for word, meant in WORDS.items():
        if sorted(low) == sorted(word) or editdistance.eval(low, word) <= 1:
            return meant
    return None


def _example(values: tuple) -> str:
    return '(' + ','.join(repr(v) for v in values) + (',)' if len(values) == 1 else ')')
