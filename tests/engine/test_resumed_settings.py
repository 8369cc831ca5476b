"""A resumed run whose config differs from its checkpoint's is warned of."""
import logging

from log_records import current_log_records
from mmengine.config import Config

from dld.engine.resumed_settings import changed_settings, warn_of_changed_settings

SAVED = '''
model = dict(type='DLDDistiller', teacher_ckpt='a', scales=(1.0, 0.5),
             losses=dict(selector=dict(type='ResolutionSelectorLoss', gamma=0.2)))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.001))
custom_hooks = [dict(type='GumbelTemperatureHook', start=5.0)]
randomness = dict(seed=7)
work_dir = 'runs/a'
train_dataloader = dict(batch_size=8, num_workers=2, dataset=dict(type='PairedPlateDataset'))
'''


def _text(**cfg_options):
    cfg = Config.fromstring(SAVED, '.py')
    cfg.merge_from_dict(cfg_options)
    return cfg.pretty_text


def test_the_same_settings_are_not_warned_of():
    # the seed, the work dir and the teacher's path are no training setting compared here
    assert changed_settings(_text(), _text(**{'randomness.seed': 8, 'work_dir': 'b',
                                              'model.teacher_ckpt': 'b'})) == {}
    # nor the loader's processes: a resume on another machine reads the same batches
    assert changed_settings(_text(), _text(**{'train_dataloader.num_workers': 0})) == {}
    assert changed_settings(_text(), _text(**{'train_dataloader.batch_size': 4})) == {
        'train_dataloader.batch_size': (8, 4)}


def test_each_changed_setting_is_named_with_both_values():
    changed = changed_settings(_text(), _text(**{
        'model.losses.selector.gamma': 0.5, 'model.scales': (1.0, 0.6),
        'optim_wrapper.optimizer.lr': 0.01, 'custom_hooks.0.start': 2.0}))
    assert changed == {'model.losses.selector.gamma': (0.2, 0.5),
                       'model.scales': ([1.0, 0.5], [1.0, 0.6]),
                       'optim_wrapper.optimizer.lr': (0.001, 0.01),
                       'custom_hooks.0.start': (5.0, 2.0)}


def test_an_unreadable_saved_config_is_not_compared():
    assert changed_settings(None, _text()) == {}
    assert changed_settings('model = (', _text()) == {}


def test_the_warning_names_the_setting():
    class Runner:
        cfg = Config.fromstring(_text(**{'model.losses.selector.gamma': 0.5}), '.py')

    with current_log_records() as records:
        warn_of_changed_settings(Runner(), dict(cfg=_text()))
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and 'model.losses.selector.gamma: 0.2 -> 0.5' in warnings[0]


def test_prediction_options_and_early_stopping_are_not_training_settings():
    """EarlyStoppingHook's own message says to raise its patience and resume;
    model.test_cfg (selector_bias, reread) changes no step of training."""
    saved = _text(**{'custom_hooks': [dict(type='GumbelTemperatureHook', start=5.0),
                                      dict(type='EarlyStoppingHook', monitor='plate/accuracy',
                                           patience=2)]})
    own = _text(**{'custom_hooks': [dict(type='GumbelTemperatureHook', start=5.0),
                                    dict(type='EarlyStoppingHook', monitor='plate/accuracy',
                                         patience=5)],
                   'model.test_cfg': dict(selector_bias=[0.0, 1.0])})
    assert changed_settings(saved, own) == {}


def test_a_selector_collapse_hook_added_by_an_upgrade_is_no_training_setting():
    """The shipped DLD configs gained SelectorCollapseHook, which only warns:
    every run of an older DLD resumed after the upgrade, its config
    unchanged, was told its results were of two settings."""
    saved = _text(**{'custom_hooks': [dict(type='GumbelTemperatureHook', start=5.0)]})
    own = _text(**{'custom_hooks': [dict(type='GumbelTemperatureHook', start=5.0),
                                    dict(type='SelectorCollapseHook', max_share=0.99,
                                         patience=2)]})
    assert changed_settings(saved, own) == {}
