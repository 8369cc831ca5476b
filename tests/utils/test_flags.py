"""Yes/no settings written as strings are refused, not read as True."""
import pytest

from dld.datasets import OnlineSynthPlateDataset
from dld.evaluation import PlateRecogMetric, TrackAccuracyMetric
from dld.registry import HOOKS, MODELS
from dld.utils.flags import check_flag


@pytest.mark.parametrize('value, expected', [(True, True), (False, False), (1, True), (0, False)])
def test_booleans_and_their_integers_are_taken(value, expected):
    assert check_flag(value, 'x') is expected


@pytest.mark.parametrize('value', ['False', 'no', '', None, 2, 0.0])
def test_anything_else_is_refused_naming_the_setting(value):
    with pytest.raises(TypeError, match=r'model\.train_selector is True or False, got'):
        check_flag(value, 'model.train_selector')


@pytest.mark.parametrize('build', [
    lambda: PlateRecogMetric(case_sensitive='yes'),
    lambda: TrackAccuracyMetric(case_sensitive='False'),
    lambda: OnlineSynthPlateDataset(num_plates=4, seed_pipeline='False', pipeline=[]),
    lambda: MODELS.build(dict(type='ResolutionSelector', scales=(1.0, 0.5),
                              gumbel_at_test='False')),
    lambda: HOOKS.build(dict(type='GumbelTemperatureHook', by_epoch='False')),
    lambda: HOOKS.build(dict(type='LabelCharsCheckHook', check_val='False')),
])
def test_a_string_flag_fails_at_build(build):
    with pytest.raises(TypeError, match=r'\w+\.\w+ is True or False'):
        build()


def _dictionary(**kw):
    from dld.models.dictionary.dictionary import Dictionary
    return Dictionary(**kw)


def _dataset(**kw):
    from dld.datasets import PairedPlateDataset
    return PairedPlateDataset(ann_file='none.txt', lazy_init=True, pipeline=[], **kw)


# Settings the first pass missed, each taken as True when written 'False':
# a dictionary that kept a label's case, a dataset that loaded HR frames, a
# connector that learned (docs/method.md: connectors.<level>.learned=False).
@pytest.mark.parametrize('build, name', [
    (lambda: _dictionary(case_sensitive='False'), 'Dictionary.case_sensitive'),
    (lambda: _dictionary(with_blank='False'), 'Dictionary.with_blank'),
    (lambda: _dictionary(with_start_end='False'), 'Dictionary.with_start_end'),
    (lambda: _dictionary(with_padding='False'), 'Dictionary.with_padding'),
    (lambda: _dataset(load_hr='False'), 'PairedPlateDataset.load_hr'),
    (lambda: _dataset(check_files='False'), 'PairedPlateDataset.check_files'),
    (lambda: MODELS.build(dict(type='FeatureMapConnector', in_channels=4, out_channels=4,
                               learned='False')), 'FeatureMapConnector.learned'),
    (lambda: MODELS.build(dict(type='FeatureMapConnector', in_channels=4, out_channels=4,
                               with_bn='False')), 'FeatureMapConnector.with_bn'),
    (lambda: MODELS.build(dict(type='SequenceConnector', in_dim=4, out_dim=4,
                               learned='False')), 'SequenceConnector.learned'),
    (lambda: MODELS.build(dict(type='PlateDataPreprocessor', bgr_to_rgb='False')),
     'PlateDataPreprocessor.bgr_to_rgb'),
    (lambda: MODELS.build(dict(type='ResolutionSelectorLoss', flops_on_uncomputed='False')),
     'ResolutionSelectorLoss.flops_on_uncomputed'),
])
def test_every_yes_no_setting_of_a_config_refuses_a_string(build, name):
    with pytest.raises(TypeError, match=rf"{name} is True or False, got 'False'"):
        build()


def test_a_dataset_leaves_load_hr_and_check_files_unset_to_their_defaults():
    ds = _dataset(load_hr=None, check_files=None, test_mode=True)
    assert ds.load_hr is False and ds.check_files is True
    assert _dataset(load_hr=1, check_files=0).load_hr is True



def test_numpys_bools_and_integers_are_taken():
    """A flag computed with numpy (``np.True_``) was refused as "got np.True_ (bool)"."""
    import numpy as np
    assert check_flag(np.True_, 'x') is True and check_flag(np.False_, 'x') is False
    assert check_flag(np.int64(1), 'x') is True
    with pytest.raises(TypeError):
        check_flag(np.int64(2), 'x')
