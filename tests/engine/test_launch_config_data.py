"""dld.engine.launch: what the tools do before building the runner."""
import pytest
from mmengine.config import Config

from dld.engine.launch import ensure_config_data

CONFIG = '''
synth_plates = dict(data_root={root!r}, tracks=2, val_tracks=1, test_tracks=1, frames=1,
                    {extra})
'''


def _config(tmp_path, extra):
    path = tmp_path / 'plates_cfg.py'
    path.write_text(CONFIG.format(root=str(tmp_path / 'plates'), extra=extra))
    return str(path), Config.fromfile(str(path))


def test_the_configs_synthetic_plates_are_made(tmp_path):
    _, cfg = _config(tmp_path, 'seed=3')
    ensure_config_data(cfg)
    assert len((tmp_path / 'plates' / 'train.txt').read_text().splitlines()) == 2


@pytest.mark.parametrize('made_before', [False, True])
def test_a_misspelt_synth_plates_key_names_the_config_and_the_key(tmp_path, made_before):
    """Whether or not the set is on disk already (then it only warned)."""
    if made_before:
        ensure_config_data(_config(tmp_path, 'seed=3')[1])
    path, cfg = _config(tmp_path, 'sed=3')
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['sed'\] in `synth_plates`") as info:
        ensure_config_data(cfg)
    assert path in str(info.value)
