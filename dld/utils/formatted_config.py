"""A config whose yapf-formatted text is computed once per content."""
import inspect
import logging
from collections import OrderedDict

from mmengine.config import Config

# Formatted texts by their unformatted text; a run holds one or two configs.
_FORMATTED: 'OrderedDict[str, str]' = OrderedDict()
_KEEP = 8


class FormattedOnceConfig(Config):
    """``Config`` whose ``pretty_text`` runs yapf once per config content.

    Why: MMEngine formats the whole config with yapf (about 0.4 s for
    ``configs/dld_plate.py``) each time it logs it, dumps it and stores it
    in a checkpoint's meta, so a run paid it at every checkpoint, the same
    text again. The unformatted text (a millisecond) is the key, so a config
    changed after reading is formatted anew; the text is MMEngine's own.
    """

    @property
    def pretty_text(self) -> str:
        if not self._format_python_code:
            return super().pretty_text
        super(Config, self).__setattr__('_format_python_code', False)
        try:
            plain = super().pretty_text
        finally:
            super(Config, self).__setattr__('_format_python_code', True)
        text = _FORMATTED.get(plain)
        if text is None:
            text = super().pretty_text
            _FORMATTED[plain] = text
            while len(_FORMATTED) > _KEEP:
                _FORMATTED.popitem(last=False)
        else:
            _FORMATTED.move_to_end(plain)
        return text

    def to_dict(self, keep_imported: bool = False) -> dict:
        """MMEngine's, with a class or function given as a ``type`` (or any
        value) named by its import path, as MMEngine names a pure-Python
        config's imported ones: a class put into a pure-Python config after
        it was read (``cfg.val_cfg = dict(cfg.val_cfg, fp16=True)`` builds
        its ``type``) was written ``<class '...'>`` into the text that the
        log, the work dir's copy and each checkpoint hold, which yapf
        refused: the run ended in a SyntaxError traceback."""
        return _named_classes(super().to_dict(keep_imported=keep_imported))

    @classmethod
    def of(cls, cfg: Config) -> 'FormattedOnceConfig':
        """``cfg`` as this class: the same dict, file name, text and imports."""
        if isinstance(cfg, cls):
            return cfg
        once = cls.__new__(cls)
        once.__setstate__(cfg.__getstate__())
        return once


def _named_classes(value):
    """``value`` with each class or function in it as ``'module.name'``
    (which MMEngine's registries build from, as the ``type`` of a pure-Python
    config's work-dir copy)."""
    if isinstance(value, dict):
        return type(value)((k, _named_classes(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_named_classes(v) for v in value)
    if isinstance(value, type) or inspect.isfunction(value) or inspect.isbuiltin(value):
        module = getattr(value, '__module__', None)
        name = getattr(value, '__qualname__', None) or getattr(value, '__name__', repr(value))
        named = f'{module}.{name}' if module else name
        _warn_if_not_importable(named, value)
        return named
    return value


_unimportable_said: set = set()


def _warn_if_not_importable(named: str, value) -> None:
    """Once a name: where ``named`` imports no ``value`` (a function defined
    in the config file itself, a lambda, a class made in a function), the
    text written names what cannot be built again: the work dir's copy of
    the config would not run as it is."""
    from mmengine.logging import print_log
    from mmengine.utils import get_object_from_string
    if named in _unimportable_said:
        return
    try:
        found = get_object_from_string(named)
    except Exception:  # noqa: BLE001 - any failure: not importable by that name
        found = None
    if found is value:
        return
    _unimportable_said.add(named)
    print_log(f'The config holds {value!r}, which cannot be imported by its name '
              f"('{named}'): the config's text (the work dir's copy, each checkpoint's) "
              'names it, but cannot build it again. Define it in a module of its own and '
              'import it (or name a registered type).', logger='current',
              level=logging.WARNING)
