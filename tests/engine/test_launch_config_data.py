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
@pytest.mark.parametrize('setting, said', [
    ('sed=3', r"unknown key\(s\) \['sed'\] in `synth_plates`"),
    # refused since 2026-12-07: the generator's meta check raised a ValueError for a
    # set rendered before, a traceback in train.py
    ('seed=3, degradation=dict(noise_sigma=(-2, 3))',
     r"`synth_plates\.degradation`: .*'noise_sigma'"),
])
def test_a_bad_synth_plates_setting_names_the_config_and_the_key(tmp_path, made_before,
                                                                 setting, said):
    """Whether or not the set is on disk already (then it only warned)."""
    if made_before:
        ensure_config_data(_config(tmp_path, 'seed=3')[1])
    path, cfg = _config(tmp_path, setting)
    # a settings error, which the tools say in one line (a ValueError was a traceback)
    from dld.engine.runner_settings import ConfigSettingError
    with pytest.raises(ConfigSettingError, match=said) as info:
        ensure_config_data(cfg)
    assert path in str(info.value)


OWN_DATA_CONFIG = '''
synth_plates = dict(data_root={root!r}, tracks=2, val_tracks=1, test_tracks=1, frames=1)
own = dict(type='LRLPRTrackDataset', data_root={own!r}, ann_file='')
train_dataloader = dict(dataset=dict(own, data_root={own!r} + '/train'))
val_dataloader = dict(dataset=dict(own, data_root={own!r} + '/val'))
test_dataloader = None
# Inherited helpers that the runner never builds may still name the set.
hr_val_dataloader = dict(dataset=dict(data_root={root!r}, ann_file='val.txt'))
'''


def test_a_config_on_data_of_its_own_does_not_render_the_inherited_synthetic_set(tmp_path):
    """A config for one's own data that inherits a shipped config inherits
    its `synth_plates`: none of its dataloaders reads them, so the tools do
    not render 1500 tracks into ./data for nothing."""
    path = tmp_path / 'own.py'
    path.write_text(OWN_DATA_CONFIG.format(root=str(tmp_path / 'plates'),
                                           own=str(tmp_path / 'icpr')))
    ensure_config_data(Config.fromfile(str(path)))
    assert not (tmp_path / 'plates').exists()


@pytest.mark.parametrize('loader', [
    "dict(dataset=dict(type='PairedPlateDataset', data_root={root!r}, ann_file='train.txt'))",
    # an ann_file relative to a data_root above the set
    "dict(dataset=dict(type='PairedPlateDataset', data_root={parent!r}, "
    "ann_file='plates/train.txt'))",
    # plates rendered when read, holding out the set's validation labels
    "dict(dataset=dict(type='OnlineSynthPlateDataset', "
    "exclude_ann_files=[{root!r} + '/val.txt']))",
    # wrapped
    "dict(dataset=dict(type='ConcatDataset', datasets=[dict(data_root={root!r})]))",
])
def test_a_set_that_a_dataloader_reads_is_rendered(tmp_path, loader):
    root, parent = str(tmp_path / 'plates'), str(tmp_path)
    path = tmp_path / 'reads.py'
    path.write_text(CONFIG.format(root=root, extra='seed=3')
                    + 'train_dataloader = ' + loader.format(root=root, parent=parent) + '\n')
    ensure_config_data(Config.fromfile(str(path)))
    assert (tmp_path / 'plates' / 'train.txt').is_file()


def _shipped_configs():
    import glob
    import os.path as osp
    root = osp.join(osp.dirname(__file__), '..', '..', 'configs')
    return sorted(glob.glob(osp.join(root, '*.py')) + glob.glob(osp.join(root, 'quickstart',
                                                                         '*.py')))


@pytest.mark.parametrize('path', _shipped_configs(), ids=lambda p: p.split('configs')[-1])
def test_every_shipped_config_still_renders_the_sets_it_reads(path):
    from dld.engine.launch import config_reads_folder
    cfg = Config.fromfile(path)
    for key in ('synth_plates', 'train_synth_plates'):
        if cfg.get(key):
            assert config_reads_folder(cfg, cfg[key]['data_root']), key


def test_a_test_renders_only_the_set_its_test_loader_reads(tmp_path):
    """test.py with its test set elsewhere rendered the train/val set (290 MB)
    it never reads (a docs journey)."""
    path = tmp_path / 'elsewhere.py'
    own = str(tmp_path / 'own')
    path.write_text(CONFIG.format(root=str(tmp_path / 'plates'), extra='seed=3')
                    + "train_dataloader = dict(dataset=dict(data_root=synth_plates['data_root']))"
                    + f"\ntest_dataloader = dict(dataset=dict(data_root={own!r}))\n")
    ensure_config_data(Config.fromfile(str(path)), loaders=('test_dataloader', ))
    assert not (tmp_path / 'plates').exists()
    ensure_config_data(Config.fromfile(str(path)))  # training reads it: made
    assert (tmp_path / 'plates' / 'train.txt').is_file()
