"""A config whose yapf-formatted text is computed once per content."""
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

    @classmethod
    def of(cls, cfg: Config) -> 'FormattedOnceConfig':
        """``cfg`` as this class: the same dict, file name, text and imports."""
        if isinstance(cfg, cls):
            return cfg
        once = cls.__new__(cls)
        once.__setstate__(cfg.__getstate__())
        return once
