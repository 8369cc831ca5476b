"""CountsKeptLoggerHook: the JSON log keeps numpy numbers as numbers."""
import numpy as np

from dld.engine.hooks import CountsKeptLoggerHook


def test_numpy_counts_are_written_as_the_numbers_they_are():
    """MMEngine's LoggerHook wrote a test's counts (np.int64) as null."""
    tags = CountsKeptLoggerHook._process_tags(
        {'n': np.int64(4), 'acc': np.float32(0.5), 'ok': np.bool_(True),
         'nested': [np.int32(1), (np.float64(2.5), )], 'name': 'x', 'none': None})
    assert tags == {'n': 4, 'acc': 0.5, 'ok': True, 'nested': [1, [2.5]], 'name': 'x',
                    'none': None}
    assert type(tags['n']) is int and type(tags['nested'][0]) is int
