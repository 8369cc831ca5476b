"""Several FLOPs / accuracy reports side by side: seeds, gammas, variants.

Each ``tools/flops_accuracy.py`` report is one run's; a paper's table is
several runs' (training seeds: mean and spread; a sweep: one column each).
This reads their ``report.json`` files, keeps the methods every report has,
and gives per method each run's figures, their mean and sample standard
deviation, in one long table (a row per run and method) for other tools.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .report_writing import plate_metric_name, scale_label

#: The figures of a report row compared across runs.
FIGURES = ('accuracy', 'char_accuracy', 'track_accuracy', 'gflops')


class ReportComparisonError(ValueError):
    """Reports that cannot be compared (one unreadable, none in common)."""


def read_report(path: str) -> dict:
    """The ``report.json`` at ``path`` (the file, or the report's folder)."""
    file = osp.join(path, 'report.json') if osp.isdir(path) else path
    try:
        with open(file, encoding='utf-8') as f:
            report = json.load(f)
    except OSError as err:
        raise ReportComparisonError(f'{file}: {err.strerror} (a report.json of '
                                    'tools/flops_accuracy.py, or its folder)') from None
    except json.JSONDecodeError as err:
        raise ReportComparisonError(f'{file}: not valid JSON ({err})') from None
    except RecursionError:
        raise ReportComparisonError(f'{file}: not valid JSON (nested too deeply)') from None
    methods = report.get('methods') if isinstance(report, dict) else None
    if not isinstance(methods, list) or not all(isinstance(r, dict) and 'method' in r
                                                for r in methods):
        raise ReportComparisonError(f'{file}: no methods: not a report.json of '
                                    'tools/flops_accuracy.py')
    from dld.utils.json_values import not_a_number
    for row in methods:  # a hand-edited figure: one line, not a TypeError in a mean
        for figure in FIGURES:
            why = not_a_number(row.get(figure))
            if why:
                raise ReportComparisonError(f"{file}: method {row['method']!r}: {figure} is "
                                            f'{why}')
    return report


def run_names(paths: Sequence[str]) -> List[str]:
    """A short name per report: the shortest trailing folder parts (a report
    folder is named for its run: ``seed1/report_lr``) that tell them apart;
    a JSON file not named ``report.json`` is named by its stem
    (``jj/seed0.json``: ``seed0``; they were numbered)."""
    def parts_of(path: str) -> List[str]:
        path = osp.abspath(path)  # '.' named a report in the working folder '.'
        folder, stem = (osp.dirname(path), osp.splitext(osp.basename(path))[0]) \
            if path.endswith('.json') else (path, 'report')
        return [p for p in folder.split(osp.sep) if p] + ([] if stem == 'report' else [stem])

    parts = [parts_of(p) for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = ['/'.join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [f'{i + 1}' for i in range(len(paths))]


def _mean_std(values: Sequence[Optional[float]]) -> Dict[str, Optional[float]]:
    known = [v for v in values if v is not None]
    if len(known) < len(values) or not known:
        return dict(mean=None, std=None)
    mean = sum(known) / len(known)
    std = (math.sqrt(sum((v - mean) ** 2 for v in known) / (len(known) - 1))
           if len(known) > 1 else None)
    return dict(mean=mean, std=std)


#: Below this many tracks a bootstrap interval is said to be rough (as
#: benchmarks/paired_lead.py says it; dld.evaluation.paired_bootstrap).
FEW_TRACKS = 100


def _paired_entry(found: dict) -> dict:
    return {k: found[k] for k in ('difference', 'low', 'high', 'a', 'b', 'only_a', 'only_b',
                                  'images', 'groups', 'not_read')}


def _no_block(name: str) -> str:
    return (f'{name} keeps no per-image results (a report.json older than them, or '
            'hand-edited; rerun tools/flops_accuracy.py): nothing is paired with it')


def paired_across(reports: Sequence[dict], names: Sequence[str], methods: Sequence[str],
                  resamples: int = 2000, reference: int = 0) -> Tuple[List[dict], List[str]]:
    """Each report but the ``reference``-th (default: the first) against it,
    image by image, for every method of ``methods`` both keep per image: the
    paired difference (that report minus the reference) with its 95 %
    interval from a bootstrap over the reference's tracks. Returns the rows
    and a line for each report that cannot be paired (no per-image block:
    an older report; other test images or labels)."""
    from dld.evaluation.per_image import PairingError, align, paired_rows, read_block
    order = [reference] + [i for i in range(len(reports)) if i != reference]
    reports, names = [reports[i] for i in order], [names[i] for i in order]
    blocks = [read_block(rep) for rep in reports]
    rows, unpaired = [], []
    if len(reports) < 2:
        return rows, unpaired
    if blocks[0] is None:
        return rows, [_no_block(names[0])]  # paired_within's line for it is this one: said once
    for name, block in zip(names[1:], blocks[1:]):
        if block is None:
            unpaired.append(_no_block(name))
            continue
        try:
            pairs = align(blocks[0], block, names[0], name)
        except PairingError as err:
            unpaired.append(f'{err}: not paired (only reports of the same test images are)')
            continue
        for method in methods:
            a, b = block['right'].get(method), blocks[0]['right'].get(method)
            if a is None or b is None:
                continue
            try:  # this report minus the first, in the first's order (its tracks alike)
                found = paired_rows(a, b, block['tracks'], [(j, i) for i, j in pairs],
                                    resamples=resamples)
            except PairingError as err:
                unpaired.append(f'{method}: {name} against {names[0]}: {err}')
                continue
            rows.append(dict(run=name, reference=names[0], method=method,
                             **_paired_entry(found)))
    return rows, unpaired


def paired_across_test_groups(reports: Sequence[dict], names: Sequence[str],
                              methods: Sequence[str], resamples: int = 2000,
                              reference: int = 0) -> List[dict]:
    """:func:`paired_across` within each group of the test set (its
    evaluator's ``group_by``: each set of a concatenation, a camera; each
    folder): per report, method and group, the paired difference (that
    report minus the reference) over that group's images, with its 95 %
    interval from a bootstrap over the group's tracks. The groups are the
    reference's (``per_image.groups``); none where it keeps none (a report
    whose test evaluator groups nothing, or older than the groups). A
    report that :func:`paired_across` cannot pair is left out here too."""
    from dld.evaluation.per_image import PairingError, align, paired_rows, read_block
    order = [reference] + [i for i in range(len(reports)) if i != reference]
    reports, names = [reports[i] for i in order], [names[i] for i in order]
    blocks = [read_block(rep) for rep in reports]
    if len(reports) < 2 or blocks[0] is None or not blocks[0].get('groups'):
        return []
    base, rows = blocks[0], []
    groups = base['groups']
    for name, block in zip(names[1:], blocks[1:]):
        if block is None:
            continue
        try:
            pairs = align(base, block, names[0], name)
        except PairingError:
            continue
        for method in methods:
            a, b = block['right'].get(method), base['right'].get(method)
            if a is None or b is None:
                continue
            for group in dict.fromkeys(groups):
                kept = [(j, i) for i, j in pairs if groups[i] == group]
                try:  # as paired_across, over the group's images only
                    found = paired_rows(a, b, block['tracks'], kept, resamples=resamples)
                except PairingError:
                    continue  # a row that read none of the group (Teacher on HR)
                rows.append(dict(run=name, reference=names[0], method=method,
                                 test_group=group, group_by=base.get('group_by'),
                                 **_paired_entry(found)))
    return rows


def group_names(names: Sequence[str], pattern: str) -> List[str]:
    """The group of each run: its name with every match of the regular
    expression ``pattern`` removed (``'_s[0-9]+'``: ``full_s1/report`` and
    ``full_s2/report`` are both ``full/report``): the seeds of one variant."""
    import re
    try:
        found = re.compile(pattern)
    except re.error as err:
        raise ReportComparisonError(f'--group-by {pattern!r} is not a regular expression: '
                                    f'{err}') from None
    groups = [found.sub('', n) for n in names]
    if groups == list(names):  # a mistyped pattern: one group per run, each of n=1
        raise ReportComparisonError(f'--group-by {pattern!r} matches none of the run names '
                                    f'({", ".join(names[:3])}{", ..." if len(names) > 3 else ""})'
                                    ": match the part that tells seeds apart (e.g. '_s[0-9]+')")
    empty = [n for n, g in zip(names, groups) if not g]
    if empty:
        raise ReportComparisonError(f'--group-by {pattern!r} leaves nothing of the name '
                                    f'{empty[0]!r}: match the part that tells seeds apart '
                                    "(e.g. '_s[0-9]+')")
    return groups


def _group_entries(methods: Sequence[dict], runs: Sequence[str],
                   groups: Sequence[str]) -> List[dict]:
    """Per group (in the order first met): its runs and, per method of
    ``methods`` (:func:`compare_reports`' entries), each figure's values over
    the group's runs, their mean and sample std."""
    entries = []
    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        figures = {m['method']: {f: dict(values=[m[f]['values'][i] for i in members],
                                         **_mean_std([m[f]['values'][i] for i in members]))
                                 for f in FIGURES}
                   for m in methods}
        entries.append(dict(group=group, runs=[runs[i] for i in members], methods=figures))
    return entries


def paired_groups(reports: Sequence[dict], names: Sequence[str], groups: Sequence[str],
                  reference: str, methods: Sequence[str],
                  resamples: int = 2000) -> Tuple[List[dict], List[str]]:
    """Each group of runs (a variant's seeds) against the ``reference`` group,
    image by image, for every method all their runs keep per image: per
    image, the share of the group's runs that read it right minus the
    reference group's share, over the images every one of those runs read;
    its mean (the difference of the two groups' mean accuracies) with a 95 %
    interval from a bootstrap over the reference's first report's tracks.
    The interval is of the test images, the runs held fixed: the spread over
    seeds is the groups' std. Returns the rows and a line for each group
    that cannot be paired."""
    import numpy as np

    from dld.evaluation.paired_bootstrap import paired_difference
    from dld.evaluation.per_image import PairingError, align, read_block
    blocks = [read_block(rep) for rep in reports]
    ref = [i for i, g in enumerate(groups) if g == reference]
    rows, unpaired = [], []
    if len(set(groups)) < 2:
        return rows, unpaired
    base = blocks[ref[0]]
    if base is None:
        return rows, [_no_block(names[ref[0]]) + f': no group is paired with {reference}']
    orders = {}  # each run's images in the base's order (index into the run's own)
    for i, (name, block) in enumerate(zip(names, blocks)):
        if block is None:
            unpaired.append(_no_block(name))
            continue
        try:
            orders[i] = [j for _, j in align(base, block, names[ref[0]], name)]
        except PairingError as err:
            unpaired.append(f'{err}: not paired (only reports of the same test images are)')
    if not all(i in orders for i in ref):
        return rows, unpaired + [f'not every run of {reference} is paired: no group is '
                                 'paired with it']

    def shares(members, method):
        bits = [[blocks[i]['right'][method][j] for j in orders[i]] for i in members]
        return np.array([[b == '1' for b in run] for run in bits], dtype=float).mean(0), \
            np.array([[b != '-' for b in run] for run in bits]).all(0)

    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        if group == reference or not all(i in orders for i in members):
            if group != reference:
                unpaired.append(f'not every run of {group} is paired: {group} against '
                                f'{reference} is not')
            continue
        for method in methods:
            if not all(method in blocks[i]['right'] for i in members + ref):
                continue
            a, read_a = shares(members, method)
            b, read_b = shares(ref, method)
            kept = read_a & read_b
            if not kept.any():
                unpaired.append(f'{method}: {group} against {reference}: no image read by '
                                'every run of both')
                continue
            found = paired_difference(a[kept], b[kept], np.asarray(base['tracks'])[kept],
                                      resamples=resamples)
            rows.append(dict(group=group, reference=reference, method=method,
                             runs=len(members), reference_runs=len(ref),
                             a=float(a[kept].mean()), b=float(b[kept].mean()),
                             not_read=int((~kept).sum()), **{
                                 k: found[k] for k in ('difference', 'low', 'high', 'images',
                                                       'groups')}))
    return rows, unpaired


def paired_within(reports: Sequence[dict], names: Sequence[str],
                  pairs: Sequence[Tuple[str, str]],
                  resamples: int = 2000) -> Tuple[List[dict], List[str]]:
    """For each report and each ``(A, B)`` of ``pairs`` (methods, as
    report.json names them: ``dld_selector``, ``nokd@0.6``), row A minus
    row B image by image, with its 95 % interval from a bootstrap over the
    report's tracks. A :class:`ReportComparisonError` for a method no
    report has; a line for each report that cannot give it."""
    from dld.evaluation.per_image import PairingError, paired_rows, read_block
    every = {r['method'] for rep in reports for r in rep['methods']}
    unknown = [m for pair in pairs for m in pair if m not in every]
    if unknown:
        first = [r['method'] for r in reports[0]['methods']]
        raise ReportComparisonError(
            f"--pair: no report has a row {unknown[0]!r}; the rows of {names[0]}: "
            + ', '.join(first))
    rows, unpaired = [], []
    for name, rep in zip(names, reports):
        block = read_block(rep)
        if block is None and pairs:
            unpaired.append(_no_block(name))
            continue
        for a, b in pairs:
            missing = [m for m in (a, b) if m not in block['right']]
            if missing:
                kept = {r['method'] for r in rep['methods']}
                why = ('it has no such row' if missing[0] not in kept else
                       'its row keeps no per-image results (an external row)')
                unpaired.append(f'{name}: {missing[0]} - {why}: {a} - {b} not paired')
                continue
            try:
                found = paired_rows(block['right'][a], block['right'][b], block['tracks'],
                                    resamples=resamples)
            except PairingError as err:
                unpaired.append(f'{name}: {a} - {b}: {err}')
                continue
            rows.append(dict(run=name, method_a=a, method_b=b, **_paired_entry(found)))
    return rows, unpaired


def _checked_pairs(pairs) -> List[Tuple[str, str]]:
    """``pairs`` as a list of ``(A, B)``: one pair given bare, ``('dld_selector',
    'dld@1')``, was read as two pairs of its strings' characters ("no report has
    a row 'd'"), and ``'A B'`` likewise."""
    if isinstance(pairs, (str, bytes)) or pairs is None:
        raise ReportComparisonError(f'pairs is a list of (A, B) method pairs, got {pairs!r}')
    pairs = list(pairs)
    if len(pairs) == 2 and all(isinstance(m, str) for m in pairs):
        raise ReportComparisonError(
            f'pairs is a list of (A, B) method pairs: give [{tuple(pairs)!r}], not '
            f'{tuple(pairs)!r}')
    for pair in pairs:
        if isinstance(pair, str) or not isinstance(pair, (list, tuple)) or len(pair) != 2 \
                or not all(isinstance(m, str) for m in pair):
            raise ReportComparisonError(
                f"pairs is a list of (A, B) method pairs (('dld_selector', 'dld@1')), got "
                f'{pair!r} in it')
    return [tuple(p) for p in pairs]


def compare_reports(reports: Sequence[Union[dict, str, os.PathLike]], names: Sequence[str],
                    pairs: Sequence[Tuple[str, str]] = (), resamples: int = 2000,
                    reference: Optional[str] = None,
                    groups: Optional[Sequence[str]] = None) -> dict:
    """``reports``: report dicts (:meth:`FlopsAccuracyEvaluator.evaluate`'s), or
    paths of report.json files or their folders (:func:`read_report`).
    ``methods``: per method every report has, in the first report's order,
    its ``name``, ``scale`` and for each figure of :data:`FIGURES` the runs'
    values, their ``mean`` and sample ``std`` (None for one run or a figure a
    run lacks); ``rows``: one per run and method (``run`` first), the long
    table; ``left_out``: the methods some report lacks; ``notes``: what
    differs between the reports that the figures depend on (the test set,
    the number of images, a quick look); ``paired``: each later report
    against the first, method by method, image by image
    (:func:`paired_across`); ``paired_by_test_group``: the same within each
    group of the test set (a camera's set, where its evaluator has
    ``group_by``: :func:`paired_across_test_groups`); ``pairs``: row A minus
    row B of each report for
    each ``(A, B)`` of ``pairs`` (:func:`paired_within`); ``unpaired``: what
    could not be paired, and why.

    ``groups``: one group name per report (a variant's seeds share one,
    :func:`group_names`): ``groups`` then holds per group its runs and each
    method's figures over them (mean, sample std), and ``paired`` each group
    against the ``reference`` group (:func:`paired_groups`) in place of
    report against report. ``reference``: the run (or, with ``groups``, the
    group) the others are paired with; default: the first."""
    # a report.json or its folder, as the command line takes them
    reports = [read_report(os.fspath(r)) if isinstance(r, (str, os.PathLike)) else r
               for r in reports]
    if len(reports) != len(names) or not reports:
        raise ReportComparisonError('give one name per report, and at least one report')
    pairs = _checked_pairs(pairs)
    if groups is not None and len(groups) != len(names):
        raise ReportComparisonError(f'give one group per report: {len(groups)} group(s) for '
                                    f'{len(names)} report(s)')
    choices = list(dict.fromkeys(groups if groups is not None else names))
    # 'full' for full/report: the first folder of a name the table shows, where only one has it
    led = [c for c in choices if c.split('/')[0] == reference]
    if reference is not None and reference not in choices and len(led) == 1:
        reference = led[0]
    if reference is not None and reference not in choices:
        raise ReportComparisonError(
            f"--reference {reference!r} is not one of the {'groups' if groups else 'runs'}: "
            + ', '.join(choices))
    reference = choices[0] if reference is None else reference
    by_run = [{r['method']: r for r in rep['methods']} for rep in reports]
    common = [m for m in by_run[0] if all(m in runs for runs in by_run[1:])]
    if not common:
        raise ReportComparisonError('the reports have no method in common')
    every = {m for runs in by_run for m in runs}
    methods, rows = [], []
    for method in common:
        first = by_run[0][method]
        entry = dict(method=method, name=first.get('name', method), scale=first.get('scale'))
        for figure in FIGURES:
            values = [runs[method].get(figure) for runs in by_run]
            entry[figure] = dict(values=values, **_mean_std(values))
        methods.append(entry)
        rows += [dict(run=name, method=method, name=runs[method].get('name', method),
                      scale=runs[method].get('scale'),
                      **{f: runs[method].get(f) for f in FIGURES},
                      num_images=rep.get('num_images'))
                 for name, runs, rep in zip(names, by_run, reports)]
    by_test_group = []
    if groups is None:
        paired, unpaired = paired_across(reports, names, common, resamples,
                                         list(names).index(reference))
        by_test_group = paired_across_test_groups(reports, names, common, resamples,
                                                  list(names).index(reference))
        grouped = None
    else:
        paired, unpaired = paired_groups(reports, names, groups, reference, common, resamples)
        grouped = _group_entries(methods, names, groups)
        for row, group in zip(rows, [g for _ in common for g in groups]):
            row['group'] = group
    within, unpaired_within = paired_within(reports, names, pairs, resamples)
    return dict(runs=list(names), groups=grouped, reference=reference, methods=methods,
                rows=rows,
                left_out=sorted(every - set(common)), notes=_differences(reports, names),
                plate_metric=plate_metric_name(reports[0]), paired=paired,
                paired_by_test_group=by_test_group, pairs=within,
                unpaired=list(dict.fromkeys(unpaired + unpaired_within)), resamples=resamples)


def _differences(reports: Sequence[dict], names: Sequence[str]) -> List[str]:
    notes = []

    def differ(what: str, values: list) -> None:
        if len({json.dumps(v, sort_keys=True) for v in values}) > 1:
            notes.append(f'the reports differ in {what}: ' + ', '.join(
                f'{n} {v}' for n, v in zip(names, values)))

    inputs = [rep.get('inputs') or {} for rep in reports]
    roots = [i.get('test_data_root') for i in inputs]
    # older reports hold the root as typed: compared only where every one is absolute
    same_root = not all(isinstance(r, str) and osp.isabs(r) for r in roots)
    differ('their test set', [i.get('test_ann_file') if same_root else
                              f"{i.get('test_data_root')}/{i.get('test_ann_file')}"
                              for i in inputs])
    differ('their number of test images', [rep.get('num_images') for rep in reports])
    # what the rows are of: a row of the same name reads other scales, or
    # decodes otherwise, and its mean over the reports is of unlike figures
    differ('the scales they read (--scales)', [rep.get('scales') for rep in reports])
    differ("the selector's candidate scales", [rep.get('candidate_scales') for rep in reports])
    # the student's and teacher's (a baseline is a row of one report only)
    differ('their decoding', [{k: v for k, v in (rep.get('decoding') or {}).items()
                               if k in ('student', 'teacher')} or None for rep in reports])
    differ('their input size', [rep.get('base_size') for rep in reports])
    differ('their precision', [rep.get('precision') for rep in reports])
    differ('the name of their plate metric', [plate_metric_name(rep) for rep in reports])
    differ('their --cfg-options', [i.get('cfg_options') or {} for i in inputs])
    # how the FLOPs were counted: said where one model's figures differ with it
    # (the two counters agree on the shipped models; a part of one's own may not)
    counters = [_flop_counter(rep) for rep in reports]
    costs = {json.dumps(_fixed_costs(rep), sort_keys=True) for rep in reports}
    if None not in counters and len(set(counters)) > 1 and len(costs) > 1:
        notes.append('their FLOPs were counted otherwise: ' + ', '.join(
            f'{n} {c}' for n, c in zip(names, counters)) + ' (DLD_FLOP_COUNTER; the '
            "teacher's, selector's or a scale's GFLOPs differ: a part of one's own counts "
            'otherwise, docs/customize.md, "FLOPs of your modules")')
    trainings = [r.get('training') if isinstance(r.get('training'), dict) else {}
                 for r in reports]
    unfinished = [f"{n} (epoch {t.get('run_last_epoch')} of {t.get('max_epochs')})"
                  for n, t in zip(names, trainings) if t.get('finished') is False]
    if unfinished:
        notes.append(f"{', '.join(unfinished)}: its training run had not finished when the "
                     'report was made (a run stopped, or still training)')
    # beside a report that knows, one that does not read as finished: said
    # unknown (where no report knows, nothing is compared)
    unknown = [n for n, t in zip(names, trainings) if t.get('finished') is None]
    if unknown and len(unknown) < len(reports):
        notes.append(f"{', '.join(unknown)}: whether its training run had finished is unknown "
                     '(a report older than that record, or of a checkpoint away from its '
                     "run's folder)")
    quick = [n for n, i in zip(names, inputs) if i.get('max_batches') is not None]
    if quick:
        notes.append(f"{', '.join(quick)}: a quick look over the first test batches "
                     '(--max-batches), not the test set')
    return notes


def _flop_counter(report: dict) -> Optional[str]:
    """``'dispatch'`` or ``'fvcore'``: the report's ``flop_counter``, or, in a
    report older than it, what its convention says (None: unknown)."""
    if report.get('flop_counter'):
        return report['flop_counter']
    said = str(report.get('convention') or '')
    return ('fvcore' if 'by fvcore' in said else 'dispatch' if 'by ATen operator' in said
            else None)


def _fixed_costs(report: dict) -> list:
    """The figures of the model alone: the teacher's, the selector's, each scale's."""
    return [report.get('teacher_gflops'), report.get('selector_gflops'),
            [(p.get('scale'), p.get('student_gflops'))
             for p in report.get('per_scale') or () if isinstance(p, dict)]]


def _pct(value: Optional[float]) -> str:
    return '-' if value is None else f'{100 * value:.2f}'


def _varies(values: Sequence[Optional[float]]) -> bool:
    """Whether runs' figures differ in the 4 decimals the table shows."""
    return len({None if v is None else round(v, 4) for v in values}) > 1


def markdown_comparison(comparison: dict, plus_minus: str = '\u00b1') -> str:
    """The table a paper quotes: per method, each run's plate accuracy and,
    over two or more runs, mean ± std of plate accuracy and GFLOPs; then
    each run's GFLOPs of the methods where they differ (a sweep of the FLOPs
    penalty moves the selector's cost, which mean ± std hid). ``plus_minus``
    writes '±' (``'+/-'`` for a console that cannot encode it: its escape,
    four characters, put the table's columns out of line)."""
    pm = plus_minus
    from tabulate import tabulate
    runs = comparison['runs']
    grouped = comparison.get('groups')
    several = len(runs) > 1 and not grouped  # over groups: a mean of unlike variants
    headers = ['method', 'scale'] + [f'{r} (%)' for r in runs]
    headers += [f'mean {pm} std (%)', f'GFLOPs mean {pm} std'] if several else ['GFLOPs']
    table = []
    for m in comparison['methods']:
        acc, gflops = m['accuracy'], m['gflops']
        row = [m['name'], scale_label(m['method'], m['scale'])]
        row += [_pct(v) for v in acc['values']]
        if several:
            row.append('-' if acc['mean'] is None else
                       f"{100 * acc['mean']:.2f} {pm} {100 * acc['std']:.2f}")
            row.append('-' if gflops['mean'] is None else
                       f"{gflops['mean']:.4f} {pm} {gflops['std']:.4f}")
        elif not grouped:
            row.append('-' if gflops['mean'] is None else f"{gflops['mean']:.4f}")
        table.append(row)
    plate = comparison.get('plate_metric', 'plate')
    lines = ['# Reports compared', '',
             f"{len(runs)} report(s): {', '.join(runs)}. Each run's {plate} "
             'accuracy; std is the sample standard deviation over the runs.', '']
    if grouped:
        lines[-2] = (f"{len(runs)} report(s) in {len(grouped)} group(s): " + '; '.join(
            f"{g['group']}: {', '.join(g['runs'])}" for g in grouped) + f". Each run's {plate} "
            f"accuracy, then each group's mean {pm} sample standard deviation over its runs.")
    if comparison['notes']:  # before the means they put in doubt
        lines += ['**Not alike:**', ''] + [f'* {n}' for n in comparison['notes']] + [
            '', 'Means and spreads over reports that differ so mix what they measure.', '']
    lines.append(tabulate(table, headers=headers, tablefmt='github', disable_numparse=True))
    varying = [m for m in comparison['methods'] if _varies(m['gflops']['values'])]
    if len(runs) > 1 and varying:  # a gamma sweep's selector rows: the figure that changes
        lines += ['', '## GFLOPs per run, where they differ', '',
                  tabulate([[m['name']] + ['-' if v is None else f'{v:.4f}'
                                           for v in m['gflops']['values']] for m in varying],
                           headers=['method'] + [f'{r} (GFLOPs)' for r in runs],
                           tablefmt='github', disable_numparse=True)]
    if grouped:
        lines += _group_section(comparison, pm)
    if comparison['left_out']:
        lines += ['', f"Left out (not in every report): {', '.join(comparison['left_out'])}."]
    lines += _paired_sections(comparison)
    return '\n'.join(lines) + '\n'


def _mean_cell(figure: dict, pm: str, scale: float = 100, digits: int = 2) -> str:
    if figure['mean'] is None:
        return '-'
    mean = f"{scale * figure['mean']:.{digits}f}"
    return mean if figure['std'] is None else f"{mean} {pm} {scale * figure['std']:.{digits}f}"


def _group_section(comparison: dict, pm: str) -> List[str]:
    """Per method, each group's mean ± std of plate accuracy over its runs,
    and its mean GFLOPs: the ablation table."""
    from tabulate import tabulate
    grouped = comparison['groups']
    headers = ['method', 'scale']
    for g in grouped:
        headers += [f"{g['group']} (n={len(g['runs'])}, %)", f"{g['group']} GFLOPs"]
    table = []
    for m in comparison['methods']:
        row = [m['name'], scale_label(m['method'], m['scale'])]
        for g in grouped:
            figures = g['methods'][m['method']]
            row += [_mean_cell(figures['accuracy'], pm),
                    _mean_cell(figures['gflops'], pm, scale=1, digits=4)]
        table.append(row)
    return ['', "## Each group's runs: mean " + pm + ' std', '',
            'A group is the runs of one variant (their seeds); std is the sample standard '
            'deviation over its runs (none for one run).', '',
            tabulate(table, headers=headers, tablefmt='github', disable_numparse=True)]


def _diff_cells(p: dict) -> list:
    return [f"{100 * p['difference']:+.2f}", f"[{100 * p['low']:+.2f}, {100 * p['high']:+.2f}]",
            f"{p['only_a']} / {p['only_b']}", f"{p['images']} / {p['groups']}"]


def _paired_sections(comparison: dict) -> List[str]:
    """The paired differences (report against report, row against row) and
    what could not be paired."""
    from tabulate import tabulate
    lines = []
    paired, within = comparison.get('paired') or [], comparison.get('pairs') or []
    groups = [p['groups'] for p in paired + within]
    if paired and 'group' in paired[0]:
        ref = paired[0]['reference']
        lines += ['', f'## Paired by image, each group against {ref}', '',
                  f"Plate accuracy of the group minus {ref}'s, image by image over the same "
                  "test images: per image the share of the group's runs that read it minus "
                  f"{ref}'s share, so the estimate is the difference of the groups' mean "
                  'accuracies. 95 % interval from a bootstrap over tracks '
                  f"({comparison.get('resamples', 2000)} resamples), the runs held fixed: it is "
                  "of the test set, not of the seeds (their spread is the groups' std).", '',
                  tabulate([[p['group'], p['method'], f"{100 * p['difference']:+.2f}",
                             f"[{100 * p['low']:+.2f}, {100 * p['high']:+.2f}]",
                             f"{p['runs']} / {p['reference_runs']}",
                             f"{p['images']} / {p['groups']}"] for p in paired],
                           headers=['group', 'method', f'minus {ref} (pt)', '95% interval',
                                    f'runs / {ref} runs', 'images / tracks'],
                           tablefmt='github', disable_numparse=True)]
    elif paired:
        ref = paired[0]['reference']
        lines += ['', f'## Paired by image, each report against {ref}', '',
                  f'Plate accuracy of the report minus {ref}\'s, image by image over the '
                  'same test images; 95 % interval from a bootstrap over tracks '
                  f"({comparison.get('resamples', 2000)} resamples). An interval clear of 0 "
                  'is a difference the test set shows; one across 0 is not.', '',
                  tabulate([[p['run'], p['method'], *_diff_cells(p)] for p in paired],
                           headers=['report', 'method', f'minus {ref} (pt)', '95% interval',
                                    f'only it / only {ref} reads', 'images / tracks'],
                           tablefmt='github', disable_numparse=True)]
    by_group = comparison.get('paired_by_test_group') or []
    if by_group:
        ref = by_group[0]['reference']
        groups += [p['groups'] for p in by_group]
        lines += ['', f'## Paired by image, each group of the test set, against {ref}', '',
                  f"Each group of the test set ({by_group[0].get('group_by')}: the test "
                  "evaluator's group_by; a camera's set, say) on its own: its plate accuracy "
                  f"in {ref} and in the report, and the report minus {ref}, image by image "
                  "over the group's images; 95 % interval from a bootstrap over the group's "
                  'tracks. A gain on one group may hide a loss on another: an interval '
                  'clear of 0 is a difference that group shows.', '',
                  tabulate([[p['run'], p['method'], p['test_group'], _pct(p['b']),
                             _pct(p['a']), *_diff_cells(p)] for p in by_group],
                           headers=['report', 'method', 'group', f'{ref} (%)', 'it (%)',
                                    f'minus {ref} (pt)', '95% interval',
                                    f'only it / only {ref} reads', 'images / tracks'],
                           tablefmt='github', disable_numparse=True)]
    if within:
        lines += ['', '## Paired by image, row against row', '',
                  'Plate accuracy of row A minus row B of one report, image by image (the '
                  "images both read); 95 % interval from a bootstrap over the report's "
                  'tracks.', '',
                  tabulate([[p['run'], p['method_a'], p['method_b'], *_diff_cells(p)]
                            for p in within],
                           headers=['report', 'A', 'B', 'A - B (pt)', '95% interval',
                                    'only A / only B reads', 'images / tracks'],
                           tablefmt='github', disable_numparse=True)]
    if groups and min(groups) < FEW_TRACKS:
        lines += ['', f'{min(groups)} tracks: an interval from resampling so few is rough (it '
                  'covers the difference less often than it says); read it on a larger set.']
    if comparison.get('unpaired'):
        lines += ['', '**Not paired:**', ''] + [f'* {u}' for u in comparison['unpaired']]
    return lines


def plot_comparison(comparison: dict, path: str) -> None:
    """Plate accuracy against mean GFLOPs, every run's points of each
    method, one marker per run: how far the runs spread."""
    from .report_writing import _plt
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    markers = 'os^vD<>ph*'
    for i, run in enumerate(comparison['runs']):
        points = [r for r in comparison['rows'] if r['run'] == run
                  and r['accuracy'] is not None and r['gflops'] is not None]
        ax.scatter([r['gflops'] for r in points], [100 * r['accuracy'] for r in points],
                   marker=markers[i % len(markers)], s=28, alpha=0.75, label=run)
    means = [m for m in comparison['methods']
             if m['accuracy']['mean'] is not None and m['gflops']['mean'] is not None]
    if len(comparison['runs']) > 1 and means:  # each method's mean, named
        ax.scatter([m['gflops']['mean'] for m in means],
                   [100 * m['accuracy']['mean'] for m in means], marker='+', s=60,
                   color='black', label='mean over the reports')
        for m in means:
            ax.annotate(m['name'], (m['gflops']['mean'], 100 * m['accuracy']['mean']),
                        fontsize=6, xytext=(4, 3), textcoords='offset points')
    ax.set_xlabel('mean GFLOPs per image (1 multiply-add = 1 flop)')
    ax.set_ylabel(f"{comparison.get('plate_metric', 'plate')} accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title='report', title_fontsize=8)
    ax.set_title(f"{len(comparison['runs'])} report(s): each method's point in every run")
    fig.tight_layout()
    fig.savefig(path, format='png', bbox_inches='tight')  # a long method name kept whole
    plt.close(fig)


#: The long table's columns: one row per run and method (``group`` with groups).
CSV_COLUMNS = ('run', 'method', 'name', 'scale', *FIGURES, 'num_images')

#: ``compare_groups.csv``'s: one row per group and method, the ablation table
#: (fractions, as report.csv; ``minus_reference`` and its interval: paired by image).
GROUP_CSV_COLUMNS = ('group', 'runs', 'method', 'name', 'scale', 'accuracy_mean',
                     'accuracy_std', 'gflops_mean', 'gflops_std', 'reference',
                     'minus_reference', 'low', 'high', 'images', 'tracks')


def group_rows(comparison: dict) -> List[dict]:
    """One row per group and method: its runs' mean and std of plate
    accuracy and GFLOPs, and the paired difference against the reference
    group with its interval (blank for the reference, or where not paired)."""
    paired = {(p['group'], p['method']): p for p in comparison.get('paired') or ()
              if 'group' in p}
    rows = []
    for g in comparison.get('groups') or ():
        for m in comparison['methods']:
            figures, p = g['methods'][m['method']], paired.get((g['group'], m['method']), {})
            rows.append(dict(group=g['group'], runs=' '.join(g['runs']), method=m['method'],
                             name=m['name'], scale=m['scale'],
                             accuracy_mean=figures['accuracy']['mean'],
                             accuracy_std=figures['accuracy']['std'],
                             gflops_mean=figures['gflops']['mean'],
                             gflops_std=figures['gflops']['std'],
                             reference=comparison.get('reference'),
                             minus_reference=p.get('difference'), low=p.get('low'),
                             high=p.get('high'), images=p.get('images'),
                             tracks=p.get('groups')))
    return rows


def write_comparison(comparison: dict, out_dir: str) -> Dict[str, str]:
    """``compare.md``, ``compare.csv`` (the long table), with groups
    ``compare_groups.csv`` (:func:`group_rows`), ``compare.png`` and
    ``compare.json`` in ``out_dir``, written together, ``compare.json`` last
    (:func:`~dld.utils.atomic_file.write_files_together`)."""
    import csv

    from dld.utils.atomic_file import text_writer, write_files_together

    grouped = bool(comparison.get('groups'))
    columns = (('run', 'group') + CSV_COLUMNS[1:]) if grouped else CSV_COLUMNS

    def csv_writer(rows: List[dict], fields: Sequence[str]):
        def write(path: str) -> None:
            with open(path, 'w', encoding='utf-8', newline='') as f:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: '' if row.get(k) is None else row[k] for k in fields})
        return write

    files = {'compare.md': text_writer(markdown_comparison(comparison)),
             'compare.csv': csv_writer(comparison['rows'], columns)}
    if grouped:
        files['compare_groups.csv'] = csv_writer(group_rows(comparison), GROUP_CSV_COLUMNS)
    return write_files_together(out_dir, {
        **files,
        'compare.png': lambda path: plot_comparison(comparison, path),
        'compare.json': text_writer(json.dumps(comparison, indent=2, ensure_ascii=False) + '\n')})
