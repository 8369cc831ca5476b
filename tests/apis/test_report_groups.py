"""An ablation table from real tiny reports: two variants x two seeds,
grouped by name (--group-by), paired with the variant chosen (--reference)."""
import csv
import json

import pytest
import torch
from repo_scripts import load_script

from dld.apis.flops_accuracy import FlopsAccuracyEvaluator
from dld.apis.report_comparison import (
    ReportComparisonError,
    compare_reports,
    group_names,
    markdown_comparison,
)
from dld.apis.report_writing import write_report

#: Each run's student: the tiny shipped one, its weights moved by noise of
#: this size drawn from the run's seed (a variant's seeds read alike, not the same).
RUNS = {'full_s1': (0.0, 1), 'full_s2': (0.01, 2), 'ablated_s1': (0.15, 1),
        'ablated_s2': (0.15, 2)}


@pytest.fixture(scope='module')
def reports(tiny_run, tmp_path_factory):
    root = tmp_path_factory.mktemp('ablation')
    state = torch.load(tiny_run['student'], map_location='cpu', weights_only=True)['state_dict']
    folders = {}
    for run, (noise, seed) in RUNS.items():
        gen = torch.Generator().manual_seed(seed)
        moved = {k: v + noise * v.abs().mean() * torch.randn(v.shape, generator=gen)
                 if v.is_floating_point() and k.startswith('student.') else v
                 for k, v in state.items()}
        ckpt = root / f'{run}.pth'
        torch.save(dict(state_dict=moved, meta={}), ckpt)
        rep = FlopsAccuracyEvaluator(tiny_run['config'], str(ckpt), scales=[1.0, 0.4],
                                     device='cpu').evaluate()
        folders[run] = str(root / run / 'report')
        write_report(rep, folders[run])
    return folders


def _accuracy(folder, method):
    with open(f'{folder}/report.json') as f:
        return {r['method']: r['accuracy'] for r in json.load(f)['methods']}[method]


def test_seeds_of_a_variant_are_grouped_and_paired_with_the_reference(reports):
    paths = list(reports.values())
    names = list(reports)
    accs = {n: _accuracy(reports[n], 'dld_selector') for n in names}
    assert len(set(accs.values())) > 1, accs  # else the pairing compares alike reports
    groups = group_names(names, '_s[0-9]+')
    assert groups == ['full', 'full', 'ablated', 'ablated']
    c = compare_reports(paths, names, groups=groups, reference='ablated')
    by_group = {g['group']: g for g in c['groups']}
    assert by_group['full']['runs'] == ['full_s1', 'full_s2']
    full = by_group['full']['methods']['dld_selector']['accuracy']
    assert full['mean'] == pytest.approx((accs['full_s1'] + accs['full_s2']) / 2)
    assert full['std'] == pytest.approx(abs(accs['full_s1'] - accs['full_s2']) / 2 ** 0.5)
    # each group against the one chosen, not against the first report
    [row] = [p for p in c['paired'] if p['method'] == 'dld_selector']
    assert (row['group'], row['reference']) == ('full', 'ablated')
    ablated = (accs['ablated_s1'] + accs['ablated_s2']) / 2
    assert row['difference'] == pytest.approx(full['mean'] - ablated)
    assert row['low'] <= row['difference'] <= row['high']
    md = markdown_comparison(c)
    assert "## Each group's runs: mean ± std" in md
    assert '## Paired by image, each group against ablated' in md
    assert '| full (n=2, %)' in md
    # over groups, no mean of every run: it would mix the variants
    assert 'mean ± std (%)' not in md
    # the first folder of a name the table shows picks its run; an unknown one is named
    by_run = compare_reports(paths, [f'{n}/report' for n in names], reference='ablated_s2')
    assert {p['reference'] for p in by_run['paired']} == {'ablated_s2/report'}
    with pytest.raises(ReportComparisonError, match=r"--reference 'nope' is not one of the "
                                                    r'groups: full, ablated'):
        compare_reports(paths, names, groups=groups, reference='nope')
    with pytest.raises(ReportComparisonError, match='leaves nothing of the name'):
        group_names(names, '.*')
    # a mistyped pattern made one group of each run (n=1, no spread) without a word
    with pytest.raises(ReportComparisonError, match=r"'_seed\[0-9\]\+' matches none of the run"):
        group_names(names, '_seed[0-9]+')


def test_the_tool_writes_the_ablation_table(reports, tmp_path, capsys):
    tool = load_script('tools/analysis/compare_reports.py')
    out = tmp_path / 'cmp'
    assert tool.main([*reports.values(), '--names', *reports, '--group-by', '_s[0-9]+',
                      '--reference', 'full', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'each group against full' in printed and 'compare_groups.csv' in printed
    with open(out / 'compare_groups.csv', newline='') as f:
        rows = {(r['group'], r['method']): r for r in csv.DictReader(f)}
    sel = rows['ablated', 'dld_selector']
    mean = (_accuracy(reports['ablated_s1'], 'dld_selector')
            + _accuracy(reports['ablated_s2'], 'dld_selector')) / 2
    assert float(sel['accuracy_mean']) == pytest.approx(mean)
    assert sel['runs'] == 'ablated_s1 ablated_s2' and sel['reference'] == 'full'
    full = float(rows['full', 'dld_selector']['accuracy_mean'])
    assert float(sel['minus_reference']) == pytest.approx(mean - full)
    assert rows['full', 'dld_selector']['minus_reference'] == ''  # the reference itself
    with open(out / 'compare.csv', newline='') as f:
        assert {r['group'] for r in csv.DictReader(f)} == {'full', 'ablated'}
    assert tool.main([*reports.values(), '--group-by', '(']) == 2
    assert 'not a regular expression' in capsys.readouterr().err
