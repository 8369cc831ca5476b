"""Settings MMEngine ignores when misspelt, or hands on to be refused
without the setting's name, are checked before the runner is built."""
import os.path as osp

import pytest
from mmengine.config import Config

from dld.engine.runner_settings import check_runner_settings

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def cfg():
    return Config.fromfile(osp.join(REPO, 'configs', 'dld_plate.py'))


@pytest.mark.parametrize('path, key, says', [
    ('env_cfg', 'cudnn_benchmrk', 'did you mean cudnn_benchmark'),  # ignored by MMEngine
    ('auto_scale_lr', 'base_batchsize', 'did you mean base_batch_size'),  # ignored
    ('randomness', 'sed', 'did you mean seed'),  # set_randomness() refused it, unnamed
    ('val_dataloader', 'batchsize', 'did you mean batch_size'),  # DataLoader refused it
    ('optim_wrapper.clip_grad', 'max_nrom', 'did you mean max_norm'),  # at the first step
])
def test_a_misspelt_key_is_named_with_its_setting(cfg, path, key, says):
    node = cfg
    for part in path.split('.'):
        node = node.setdefault(part, {}) if part == 'clip_grad' else node[part]
    node[key] = 1
    with pytest.raises(ValueError, match=rf'{path}\.{key}: {path} takes no {key!r} \({says}'):
        check_runner_settings(cfg)


def test_the_shipped_configs_and_mmengine_s_own_keys_pass(cfg):
    cfg.train_dataloader.num_batch_per_epoch = 2  # MMEngine's, not the DataLoader's
    cfg.val_dataloader.disable_subprocess_warning = True
    cfg.optim_wrapper.clip_grad = dict(type='value', clip_value=1.0)
    check_runner_settings(cfg)
    for name in ('teacher_plate_hr.py', 'dld_plate_hr.py', 'student_plate_lr.py'):
        check_runner_settings(Config.fromfile(osp.join(REPO, 'configs', name)))


def test_a_default_hook_without_a_type_must_be_one_of_mmengines(cfg):
    """A misspelt name failed in MMEngine's registry: 'must contain the key
    "type"', naming neither the entry nor the hook."""
    cfg.default_hooks.logger = dict(interval=3)  # MMEngine's own: its settings change
    check_runner_settings(cfg)
    cfg.default_hooks.loger = dict(interval=3)
    with pytest.raises(ValueError, match=r"default_hooks\.loger: no type, and MMEngine has no "
                                         r"default hook 'loger' to set \(did you mean logger"):
        check_runner_settings(cfg)


def test_a_top_level_dict_named_as_a_misspelt_setting_is_a_warning(cfg):
    import logging
    from unittest import mock

    from dld.engine.runner_settings import warn_of_close_top_level_keys
    cfg.trian_cfg = dict(max_epochs=2)
    cfg.words = dict(type='Dictionary')  # a variable of its own: no word
    cfg.val_cfgs = [dict(type='ValLoop')]  # not a dict: a variable too
    with mock.patch('mmengine.logging.print_log') as log:
        warn_of_close_top_level_keys(cfg)
    said = [c.args[0] for c in log.call_args_list if c.kwargs.get('level') == logging.WARNING]
    assert said == ['trian_cfg = dict(...) is no setting the runner reads: did you mean '
                    "train_cfg? (a variable of the config's own is fine)"]


def test_a_dld_default_hook_set_to_none_is_turned_off_as_mmengine_s_are(cfg):
    """`--cfg-options default_hooks.sync_norm_stats=None` failed on MMEngine's
    bare `assert hook is not None` (a distributed recheck)."""
    from mmengine.runner import Runner

    from dld.engine.runner_settings import drop_unset_default_hooks
    cfg.default_hooks.sync_norm_stats = None
    cfg.default_hooks.timer = None  # MMEngine's own: None is how it turns it off
    drop_unset_default_hooks(cfg)
    assert 'sync_norm_stats' not in cfg.default_hooks and cfg.default_hooks.timer is None
    runner = object.__new__(Runner)
    runner._hooks = []
    Runner.register_default_hooks(runner, cfg.default_hooks)
    names = {type(h).__name__ for h in runner._hooks}
    assert 'SyncNormStatsHook' not in names and 'IterTimerHook' not in names
    assert 'AtomicCheckpointHook' in names


def test_a_config_lacking_dld_default_hooks_is_warned_of_unless_it_turned_them_off(
        cfg, tmp_path, caplog):
    """A work dir's saved config of an older DLD spells out the hooks of its
    day: resumed with it, a run went without those added since, silently."""
    from mmengine.logging import MMLogger

    from dld.engine.runner_settings import (
        DLD_DEFAULT_HOOKS,
        HOOKS_OFF_KEY,
        drop_unset_default_hooks,
        warn_of_missing_default_hooks,
    )
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        warn_of_missing_default_hooks(cfg)  # the shipped config has them all
        assert not caplog.records
        old = Config(cfg.to_dict())  # saved by an older DLD, before two hooks existed
        del old.default_hooks['resumed_schedule'], old.default_hooks['non_finite']
        warn_of_missing_default_hooks(old)
        said = [r.getMessage() for r in caplog.records]
        assert len(said) == 1 and "default_hooks lack DLD's resumed_schedule, non_finite" in \
            said[0]
        caplog.clear()
        warn_of_missing_default_hooks(old, training=False)  # a test reads neither
        assert not caplog.records
        del old.default_hooks['track_ids']
        warn_of_missing_default_hooks(old, training=False)
        assert "default_hooks lack DLD's track_ids " in caplog.records[0].getMessage()
        caplog.clear()
        # turned off on purpose: the saved config says so, and nothing is said
        cfg.default_hooks.non_finite = None
        drop_unset_default_hooks(cfg)
        path = tmp_path / 'saved.py'
        cfg.dump(str(path))
        saved = Config.fromfile(str(path))
        assert 'non_finite' not in saved.default_hooks and saved[HOOKS_OFF_KEY] == ['non_finite']
        warn_of_missing_default_hooks(saved)
        assert not caplog.records
    finally:
        logger.removeHandler(caplog.handler)
    # the list is the shipped configs' own (less MMEngine's default hooks)
    from dld.engine.runner_settings import MMENGINE_DEFAULT_HOOKS
    runtime = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))
    assert set(DLD_DEFAULT_HOOKS) == set(runtime.default_hooks) - set(MMENGINE_DEFAULT_HOOKS)


def test_sync_bn_with_per_scale_statistics_is_refused(cfg):
    """MMEngine made each scale-aware BatchNorm a SyncBatchNorm, which failed
    in its first forward on several GPUs (its statistics are per scale)."""
    cfg.sync_bn = 'torch'
    check_runner_settings(cfg)  # one process converts nothing
    cfg.launcher = 'pytorch'
    with pytest.raises(ValueError, match=r"sync_bn='torch': the model keeps BatchNorm "
                       r'statistics per scale .* SyncNormStatsHook'):
        check_runner_settings(cfg)
    del cfg.model['scales']  # the distiller's default scales
    cfg.model.type = 'dld.DLDDistiller'
    with pytest.raises(ValueError, match='statistics per scale'):
        check_runner_settings(cfg)
    cfg.model.student_scale_norm = False  # one set of statistics: SyncBatchNorm holds it
    check_runner_settings(cfg)
    fixed = Config.fromfile(osp.join(REPO, 'configs', 'dld_plate_fixed.py'))  # one scale
    fixed.merge_from_dict(dict(sync_bn='torch', launcher='pytorch'))
    check_runner_settings(fixed)
