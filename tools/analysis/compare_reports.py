"""Several FLOPs / accuracy reports side by side: training seeds, gammas, variants.

    python tools/analysis/compare_reports.py REPORT [REPORT ...] [--names N ...]
        [--group-by REGEX] [--reference NAME] [--pair ROW_A ROW_B ...] [--resamples N]
        [--out DIR]

Each REPORT is a ``report.json`` of ``tools/flops_accuracy.py`` or its
folder. Prints, per method every report has, each run's plate accuracy and,
over two or more runs, the mean ± sample standard deviation of the plate
accuracy and of the GFLOPs per image, and says where the reports differ in
what the figures depend on (the test set, its size, a ``--max-batches``
quick look). Reports of the same test images (their ``per_image`` block)
are paired image by image: each report against the first (or
``--reference NAME``), per method, with a 95 % interval from a bootstrap
over tracks; ``--pair dld_selector nokd@0.6`` gives row A minus row B of
each report the same way. Where the reports keep each image's group of the
test set (a camera's set, ``group_by='set'``), each group is paired on its own
too. ``--group-by '_s[0-9]+'`` groups the runs whose
names are alike once the pattern's matches are removed (a variant's seeds:
``full_s1``, ``full_s2``): each group's mean ± std, and each group paired
with the first (or ``--reference``) group. With ``--out DIR``:
``compare.md`` (those tables), ``compare.csv`` (one row per run and method:
the long table, for your own plots), with groups ``compare_groups.csv``
(one row per group and method: the ablation table), ``compare.png`` (plate
accuracy against GFLOPs, each run's points) and ``compare.json``.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('reports', nargs='+',
                        help="report.json files of tools/flops_accuracy.py, or their folders")
    parser.add_argument('--names', nargs='+',
                        help="one name per report (default: the shortest trailing folder "
                        "names that tell them apart, e.g. seed1/report_lr)")
    parser.add_argument('--group-by', metavar='REGEX',
                        help="group the runs whose names are alike once every match of REGEX "
                        "is removed, e.g. '_s[0-9]+' (full_s1 and full_s2: full): a "
                        "variant's seeds, given each group's mean and std and paired by "
                        'group')
    parser.add_argument('--reference', metavar='NAME',
                        help='the run (with --group-by, the group) the others are paired '
                        'with, by its name as the table shows it (default: the first)')
    parser.add_argument('--pair', nargs=2, action='append', default=[],
                        metavar=('ROW_A', 'ROW_B'),
                        help="row A minus row B of each report, image by image, with a 95%% "
                        "interval (methods as report.json names them: dld_selector, "
                        "nokd@0.6, teacher_hr). Repeatable")
    parser.add_argument('--resamples', type=int, default=2000,
                        help='bootstrap resamples over tracks (default: %(default)s)')
    parser.add_argument('--out', help='write compare.md, .csv, .png and .json into this folder')
    args = parser.parse_args(argv)
    if args.resamples < 1:
        parser.error(f'--resamples must be at least 1, got {args.resamples}')
    if args.names and len(args.names) != len(args.reports):
        parser.error(f'--names gives {len(args.names)} name(s) for {len(args.reports)} '
                     'report(s): one each')
    if args.names and len(set(args.names)) != len(args.names):
        parser.error('--names: each report needs its own name')
    import os.path as osp
    real = [osp.realpath(osp.join(p, 'report.json') if osp.isdir(p) else p)
            for p in args.reports]
    twice = sorted({p for p in real if real.count(p) > 1})
    if twice:  # its run would count twice in the mean and the spread
        parser.error(f"{', '.join(twice)} given twice: each report once")
    return args


def _plus_minus(stream) -> str:
    """'\u00b1' where ``stream`` encodes it, else '+/-' (an ASCII console, LANG=C)."""
    try:
        '\u00b1'.encode(getattr(stream, 'encoding', None) or 'ascii')
    except (UnicodeEncodeError, LookupError):
        return '+/-'
    return '\u00b1'


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.apis.report_comparison import (
        ReportComparisonError,
        compare_reports,
        group_names,
        markdown_comparison,
        read_report,
        run_names,
        write_comparison,
    )
    try:
        reports = [read_report(p) for p in args.reports]
        names = args.names or run_names(args.reports)
        groups = group_names(names, args.group_by) if args.group_by is not None else None
        comparison = compare_reports(reports, names, [tuple(p) for p in args.pair],
                                     args.resamples, reference=args.reference, groups=groups)
    except ReportComparisonError as err:
        print(f'compare_reports.py: {err}', file=sys.stderr)
        return 2
    print(markdown_comparison(comparison, plus_minus=_plus_minus(sys.stdout)), end='')
    if args.out:
        try:
            paths = write_comparison(comparison, args.out)
        except OSError as err:  # a full disk, a folder it may not write
            print(f'compare_reports.py: cannot write {args.out}: {err.strerror}',
                  file=sys.stderr)
            return 2
        print(f"\nWritten: {', '.join(paths.values())}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
