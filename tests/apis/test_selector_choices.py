"""The report's section on the selector's choices agrees with its rows, and
says what choosing blind at the selector's mix or FLOPs would read."""
import pytest
from tiny_dld import SCALES

from dld.apis.flops_accuracy import FlopsAccuracyEvaluator
from dld.apis.report_writing import markdown_report
from dld.apis.selector_choices import selector_choices


@pytest.fixture(scope='module')
def report(tiny_run):
    return FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                                  device='cpu').evaluate()


def test_choices_agree_with_the_rows(report):
    rows = {r['method']: r for r in report['methods']}
    ch = report['selector_choices']
    n = rows['dld_selector']['num_images']
    assert ch['accuracy'] == pytest.approx(rows['dld_selector']['accuracy'])
    assert ch['gflops'] == pytest.approx(rows['dld_selector']['gflops'])
    hist = report['scale_histogram']
    assert {s: v['images'] for s, v in ch['per_scale'].items()} == \
        {s: c for s, c in hist['dld_selector'].items() if c}
    # oracle columns sum to the oracle row's histogram
    for o in ch['confusion'][next(iter(ch['confusion']))]:
        assert sum(row[o] for row in ch['confusion'].values()) == hist['oracle'][o]
    assert ch['matched'] + ch['too_dear'] + ch['too_cheap'] == n
    # random in the selector's mix: its shares times each fixed scale's accuracy
    expected = sum(hist['dld_selector'][f'{s:g}'] / n * rows[f'dld@{s:g}']['accuracy']
                   for s in SCALES)
    assert ch['random_at_mix']['accuracy'] == pytest.approx(expected)
    assert ch['random_at_mix']['gflops'] == pytest.approx(
        rows['dld_selector']['gflops'] - report['selector_gflops'])
    assert "## The selector's choices" in markdown_report(report)


def test_blind_baselines_by_hand():
    # 4 images; the selector sends 0, 1 to 1.0 and 2, 3 to 0.5
    fixed = {1.0: [True, True, False, True], 0.5: [False, True, False, False]}
    cost = {1.0: 1.0, 0.5: 0.25}
    ch = selector_choices([1.0, 1.0, 0.5, 0.5], [True, True, False, False],
                          [1.0, 0.5, 0.5, 1.0], fixed, cost, 0.0)
    assert ch['accuracy'] == 0.5 and ch['gflops'] == pytest.approx(0.625)
    assert ch['random_at_mix']['accuracy'] == pytest.approx(0.5 * 0.75 + 0.5 * 0.25)
    # 0.625 GFLOPs: half-way from 0.25 to 1.0 -> half-way between 25 % and 75 %
    assert ch['fixed_at_flops']['accuracy'] == pytest.approx(0.5)
    assert ch['confusion'] == {'1': {'1': 1, '0.5': 1}, '0.5': {'1': 1, '0.5': 1}}
    assert (ch['matched'], ch['too_dear'], ch['too_cheap']) == (2, 1, 1)
    # a chosen scale that was not evaluated: no judgement
    assert selector_choices([0.8], [True], [1.0], {1.0: [True]}, {1.0: 1.0}, 0.0) is None
