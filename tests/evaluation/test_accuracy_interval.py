"""The accuracy's interval: Wilson's over independent images, wider over tracks read alike."""
import numpy as np
import pytest

from dld.evaluation.accuracy_interval import accuracy_interval, wilson_interval


@pytest.mark.parametrize('right, n, level, expected', [
    # statsmodels.stats.proportion.proportion_confint(right, n, alpha, method='wilson')
    (56, 200, 0.95, (0.22236889773949026, 0.3459230458665071)),
    (0, 200, 0.95, (0.0, 0.01884532637726658)),
    (7, 7, 0.95, (0.6456695649333125, 1.0)),
    (3, 10, 0.90, (0.12687658390319784, 0.558300204130165)),
])
def test_wilson_interval_is_the_reference_one(right, n, level, expected):
    assert wilson_interval(right, n, level) == pytest.approx(expected, abs=1e-12)
    ones = [True] * right + [False] * (n - right)
    found = accuracy_interval(ones, None, level)  # every image its own
    assert (found['low'], found['high']) == pytest.approx(expected, abs=1e-12)
    assert found['effective_images'] == pytest.approx(n)


def test_frames_read_alike_count_as_fewer_images():
    # 100 tracks of 2 frames, both frames of a track read alike: 100 samples, not 200
    right = np.repeat(np.arange(100) < 28, 2)
    tracks = np.repeat(np.arange(100), 2)
    alike = accuracy_interval(right, tracks)
    assert alike['accuracy'] == pytest.approx(0.28) and alike['groups'] == 100
    assert alike['effective_images'] == pytest.approx(100 * 99 / 100 * 200 / 199, rel=1e-9)
    lone = accuracy_interval(right)
    assert alike['high'] - alike['low'] > 1.3 * (lone['high'] - lone['low'])
    # frames of a track read no more alike than any two: Wilson's over the images
    mixed = np.tile([True, False], 100)
    found = accuracy_interval(mixed, tracks)
    assert found['effective_images'] == pytest.approx(200)
    assert (found['low'], found['high']) == pytest.approx(wilson_interval(100, 200))


def test_no_plate_read_is_not_a_certain_zero():
    # a bootstrap gives [0, 0] here; the interval counts each track once instead
    found = accuracy_interval([False] * 200, np.repeat(np.arange(100), 2))
    assert found['low'] == 0.0 and found['effective_images'] == 100
    assert found['high'] == pytest.approx(wilson_interval(0, 100)[1]) and found['high'] > 0.03
    assert accuracy_interval([True] * 4, ['a', 'a', 'b', 'b'])['high'] == 1.0


def test_bad_input_is_refused():
    assert accuracy_interval([], [])['low'] is None
    with pytest.raises(ValueError, match='one group per image'):
        accuracy_interval([True, False], ['a'])
    with pytest.raises(ValueError, match='level'):
        accuracy_interval([True], None, level=95)


def test_any_iterable_of_outcomes_is_taken():
    right = [True, False, True, True]
    assert accuracy_interval(r for r in right) == accuracy_interval(right)
