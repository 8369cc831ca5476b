"""Reading a config file so that its ``custom_imports`` find a project's package."""
import json
import logging
import os
import sys
from typing import Mapping, Optional

import yaml
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from .config_errors import (
    ConfigFileError,
    find_shared_base_keys,
    json_error_of,
    lazy_import_said,
    missing_base_error_of,
    missing_base_variable,
    no_config_file,
    raise_custom_import_error,
    syntax_error_of,
    yaml_refusal_of,
)
from .formatted_config import FormattedOnceConfig


def read_config(path: str) -> Config:
    """``Config.fromfile(path)`` with the working directory importable.

    Why: a config's ``custom_imports`` name a package by its import path,
    e.g. ``projects.mobile_student.mobile_student`` (docs/customize.md), and
    ``Config.fromfile`` imports it. Run as ``python tools/train.py``, Python
    puts ``tools/`` on ``sys.path``, not the directory the command runs in,
    so the import would fail without ``PYTHONPATH=.``; ``python -m`` would
    find it, and so do the tools now. The directory is appended, so an
    installed package of the same name keeps precedence. The config formats
    its text once (:class:`~dld.utils.formatted_config.FormattedOnceConfig`).
    """
    if os.path.isdir(path):
        raise ConfigFileError(no_config_file(str(path)))
    if not str(path).endswith(('.py', '.json', '.yml', '.yaml')):  # MMEngine's
        # refusal named no file: 'Only py/yml/yaml/json type are supported now!'
        raise ConfigFileError(f'{path}: a config is a Python file (.py; MMEngine reads .json, '
                              '.yml and .yaml too)')
    if not os.path.isfile(path):  # MMEngine's was a FileNotFoundError traceback
        raise ConfigFileError(no_config_file(str(path)))
    from .safe_yaml import register_safe_yaml
    register_safe_yaml()  # a YAML config (or _base_) is read as data, never run
    try:
        cfg = Config.fromfile(path, import_custom_modules=False)
    except SyntaxError as err:
        raise syntax_error_of(path, err) from None
    except yaml.YAMLError as err:  # a YAML config (or base): its tags are read as data only
        raise yaml_refusal_of(path, err) from None
    except json.JSONDecodeError as err:  # MMEngine reads a JSON config from a copy
        raise json_error_of(path, err) from None
    except (KeyError, AttributeError) as err:
        # MMEngine's 'Duplicate key is not allowed among bases', or a
        # `{{_base_.x}}` / `_base_.x` naming no variable of the bases
        shared = find_shared_base_keys(os.path.abspath(path), set()) \
            if isinstance(err, KeyError) else None
        if shared is None:
            shared = missing_base_variable(path, err)
        if shared is None:
            raise
        raise ConfigFileError(shared) from None
    except FileNotFoundError as err:  # a _base_ that is not there: name who lists it
        missing = missing_base_error_of(path)
        if missing is None:
            raise
        raise missing from err
    cfg = FormattedOnceConfig.of(cfg)
    # after custom_imports: they make the working directory importable, and a
    # pure-Python config may import the project package they name
    import_custom_modules(cfg, path)
    _import_lazy_types(cfg)
    from mmengine.logging import print_log

    from .base_variables import unused_overrides
    for warning in unused_overrides(path, cfg):
        print_log(warning, logger='current', level=logging.WARNING)
    return cfg


def _import_lazy_types(cfg: Config) -> None:
    """Import now what a pure-Python config imports (``type=DLDDistiller``
    after ``from dld.models.distillers import DLDDistiller``): MMEngine
    imports each when it is first read, so an import that fails was a
    traceback from wherever the tools first looked at that setting. A name
    that DLD registers elsewhere is named with where it is."""
    try:
        from mmengine.config.lazy import LazyAttr, LazyObject
    except ImportError:  # an MMEngine without pure-Python configs
        return
    lazy_dict = getattr(cfg._cfg_dict, '_to_lazy_dict', None)
    if lazy_dict is None:
        return
    pending = [lazy_dict()]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, (LazyObject, LazyAttr)):
            try:
                value.build()
            except ImportError as err:
                raise ConfigFileError(lazy_import_said(err, str(value))) from None


def merge_config_options(cfg: Config, options: Mapping, source: Optional[str] = None) -> None:
    """``cfg.merge_from_dict(options)``, importing ``custom_imports`` the
    options set: the config's own were imported when it was read, these
    came after (a mistyped package would otherwise go unnoticed). A key
    that names nothing the config or the runner has, or a list's item by
    name, is refused first (:func:`~dld.utils.config_option_keys.check_option_keys`)."""
    from .config_option_keys import check_option_keys
    check_option_keys(cfg, options)
    cfg.merge_from_dict(options)
    if any(key.split('.')[0] == 'custom_imports' for key in options):
        import_custom_modules(cfg, source)


def import_custom_modules(cfg: Mapping, source: Optional[str] = None) -> None:
    """Import a config's ``custom_imports`` from the working directory too.

    A config built or changed in Python (``PlateRecognizer`` given a
    ``Config`` or a dict) is not read from a file, so nothing has imported
    the project's package yet. A failure names the module that is missing
    and, when it is the project's package, where the tools look for it
    (MMEngine advised PYTHONPATH only).
    """
    imports = cfg.get('custom_imports')
    if not imports:
        return
    _working_directory_importable()
    try:
        import_modules_from_strings(**imports)
    except ImportError as err:
        raise_custom_import_error(source or getattr(cfg, 'filename', None) or 'config',
                                  imports.get('imports', []), err)


def _working_directory_importable() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
