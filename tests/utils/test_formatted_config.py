"""FormattedOnceConfig: MMEngine's formatted text, yapf run once per content."""
import copy
import os.path as osp
import pickle
from collections import OrderedDict

import mmengine.config.config as mmengine_config
from mmengine.config import Config

from dld.utils import formatted_config, read_config
from dld.utils.formatted_config import FormattedOnceConfig

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'dld_plate.py')


def _counting_yapf(monkeypatch):
    calls = []
    format_code = mmengine_config.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return format_code(*args, **kwargs)
    monkeypatch.setattr(mmengine_config, 'FormatCode', counted)
    return calls


def test_the_text_is_mmengines_and_formatted_once_per_content(monkeypatch):
    monkeypatch.setattr(formatted_config, '_FORMATTED', OrderedDict())  # nothing formatted yet
    plain = Config.fromfile(CONFIG)
    cfg = read_config(CONFIG)
    assert isinstance(cfg, FormattedOnceConfig)
    cfg.model.losses.selector.gamma = 0.123
    plain.model.losses.selector.gamma = 0.123
    calls = _counting_yapf(monkeypatch)
    first = cfg.pretty_text
    assert len(calls) == 1
    # The runner deep-copies the config; checkpoints ask for the text again.
    runner_copy = copy.deepcopy(cfg)
    assert isinstance(runner_copy, FormattedOnceConfig)
    assert runner_copy.pretty_text == first and cfg.dump() == first
    assert len(calls) == 1
    assert first == plain.pretty_text  # MMEngine's own text, computed by yapf again
    assert len(calls) == 2

    cfg.model.losses.selector.gamma = 0.456  # a change is formatted anew
    changed = cfg.pretty_text
    assert len(calls) == 3 and 'gamma=0.456' in changed and 'gamma=0.123' not in changed


def test_it_keeps_the_file_name_text_and_pickles():
    cfg = read_config(CONFIG)
    plain = Config.fromfile(CONFIG)
    assert cfg.filename == plain.filename and cfg.text == plain.text
    assert cfg.to_dict() == plain.to_dict()
    again = pickle.loads(pickle.dumps(cfg))
    assert isinstance(again, FormattedOnceConfig) and again.to_dict() == plain.to_dict()
    assert FormattedOnceConfig.of(cfg) is cfg
