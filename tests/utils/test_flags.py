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



def test_numpys_bools_and_integers_are_taken():
    """A flag computed with numpy (``np.True_``) was refused as "got np.True_ (bool)"."""
    import numpy as np
    assert check_flag(np.True_, 'x') is True and check_flag(np.False_, 'x') is False
    assert check_flag(np.int64(1), 'x') is True
    with pytest.raises(TypeError):
        check_flag(np.int64(2), 'x')
