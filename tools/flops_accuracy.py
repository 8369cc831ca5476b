"""Accuracy against FLOPs of the teacher, the no-KD student, DLD and an oracle selector.

    python tools/flops_accuracy.py CONFIG CKPT --out DIR [--teacher-ckpt T]
        [--baseline-ckpt B] [--baseline-config C] [--baseline-name NAME] [--scales 1.0 0.6 ...]
        [--external NAME:ACC:GFLOPS] [--external-readings NAME=FILE] [--per-image FILE]
        [--device D] [--max-batches N] [--amp] [--cfg-options key=value ...]

Evaluates the config's test set once and writes into DIR: ``report.md`` (a
table), ``report.csv``, ``report.json``, ``pareto.png`` (plate accuracy
against mean GFLOPs) and ``scales.png`` (how often each scale is chosen);
``--per-image FILE`` one record per test image (JSON lines, as
``tools/infer.py --out`` writes them, with each fixed scale's reading, the
oracle's scale and the selector's against it). See docs/reports.md.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import pickle
import sys

from dld.cli_options import ConfigOptionsAction
from dld.reading_limits import scale_error


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='FLOPs / accuracy report of a DLD checkpoint against its baselines.')
    parser.add_argument('config', help='the DLD config (its test set is evaluated)')
    parser.add_argument('checkpoint', help='the DLD checkpoint (student + selector)')
    parser.add_argument('--out', required=True, metavar='DIR', help='report folder')
    parser.add_argument('--teacher-ckpt', help='teacher weights, or its work dir as '
                        "model.teacher_ckpt takes it (default: the DLD checkpoint's own, when "
                        'it has them)')
    parser.add_argument('--baseline-ckpt', help='no-KD student checkpoint '
                        '(trained with configs/student_plate_lr.py), or a DLD checkpoint '
                        'whose student is the baseline')
    parser.add_argument('--baseline-config', help="the baseline's config (default: the DLD "
                        "student's architecture, per-scale BatchNorm included)")
    parser.add_argument('--baseline-name', metavar='NAME',
                        help="name of the baseline's rows (default: 'No-KD student', or "
                        "'Baseline student' for a DLD checkpoint's student), e.g. "
                        "'DLD epoch 1' to compare two checkpoints")
    parser.add_argument('--scales', type=float, nargs='+',
                        help="fixed scales to evaluate (default: the distiller's candidates)")
    parser.add_argument('--device', default=None,
                        help="e.g. 'cpu', 'cuda:0' (default: CUDA if available)")
    parser.add_argument('--max-batches', type=int, help='evaluate only the first N batches')
    parser.add_argument('--amp', action='store_true',
                        help='read in mixed precision, as tools/infer.py --amp')
    parser.add_argument('--external', action='append', default=[], metavar='NAME:ACC:GFLOPS',
                        help='a row and point of a method that is not a DLD model, from '
                        'figures given (a paper): plate accuracy in %%, GFLOPs per image '
                        '(one multiply-add one flop); either may be -. Repeatable')
    parser.add_argument('--external-readings', action='append', default=[],
                        metavar='NAME=FILE',
                        help="a row and point scored from another method's predictions of "
                        'this test set (tools/analysis/score_predictions.py --out). '
                        'Repeatable')
    parser.add_argument('--per-image', metavar='FILE',
                        help="write one record per test image (.jsonl, tools/infer.py --out's "
                        "records of the selector's reading, with each fixed scale's reading, "
                        "the oracle's scale and the selector's against it), which "
                        'tools/analysis/analyze_readings.py reads')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, as in tools/train.py (e.g. the '
                        'selector of a checkpoint trained with other ones)')
    args = parser.parse_args(argv)
    if args.max_batches is not None and args.max_batches < 1:
        parser.error(f'--max-batches must be at least 1, got {args.max_batches} '
                     '(leave it out to evaluate the whole test set)')
    from dld.apis.external_predictions import parse_point
    for point in args.external:
        try:
            given = parse_point(point)
        except ValueError as err:
            parser.error(f'--external {err}')
        if given['accuracy'] is not None and 0 < given['accuracy'] <= 0.01:
            print(f'flops_accuracy.py: note: --external {point!r}: its accuracy is read as '
                  f"{100 * given['accuracy']:g} %; ACC is a percentage (give "
                  f"{10000 * given['accuracy']:g}, not the fraction "
                  f"{100 * given['accuracy']:g}, for {10000 * given['accuracy']:g} %)",
                  file=sys.stderr)
    for given in args.external_readings:  # read before the evaluation, not after it
        name, sep, path = given.partition('=')
        if not (sep and name.strip() and path):
            parser.error(f'--external-readings {given!r}: give NAME=READINGS.jsonl')
        from dld.apis.reading_analysis import ReadingsError, load_records
        try:
            load_records(path)
        except ReadingsError as err:
            parser.error(f'--external-readings {err}')
    if scale_error('--scales', args.scales or ()):
        parser.error(scale_error('--scales', args.scales))
    from dld.utils.output_paths import unwritable_outputs
    problems = unwritable_outputs(files=[('--per-image', args.per_image, '.jsonl')],
                                  folders=[('--out', args.out)],
                                  inputs=[args.config, args.checkpoint], create=False)
    if problems:  # before the test set is read; made only once the report is
        parser.error('; '.join(problems))
    return args


def _evaluate(args, cfg, device: str):
    """The report's figures and its per-image records (None without
    ``--per-image``); None where the models cannot be loaded (said)."""
    from dld.apis.flops_accuracy import FlopsAccuracyEvaluator
    from dld.apis.model_loading import CheckpointMismatchError
    from dld.datasets.errors import RepeatedEvaluationError, SharedTrackIdError
    from dld.engine.checkpoint import CheckpointReadError
    try:
        evaluator = FlopsAccuracyEvaluator(  # reads the test set, once for every row
            cfg, args.checkpoint, teacher_checkpoint=args.teacher_ckpt,
            baseline_checkpoint=args.baseline_ckpt, baseline_config=args.baseline_config,
            baseline_name=args.baseline_name,
            scales=args.scales, device=device, max_batches=args.max_batches, amp=args.amp)
    except (SharedTrackIdError, RepeatedEvaluationError) as err:  # the test set, as test.py
        print(f'flops_accuracy.py: {err}', file=sys.stderr)
        return None
    except (OSError, KeyError, TypeError, ValueError, CheckpointMismatchError,
            CheckpointReadError, pickle.UnpicklingError) as err:
        # a model, checkpoint or setting the report cannot read: one line,
        # as infer.py says it
        print(f'flops_accuracy.py: cannot load the models: {err}', file=sys.stderr)
        return None
    if args.external_readings:  # of this test set? said before the evaluation, not after
        from dld.apis.external_predictions import scored_readings
        from dld.apis.reading_analysis import ReadingsError
        try:
            scored_readings(args.external_readings, evaluator.paths, evaluator.data.num_images)
        except (ValueError, ReadingsError) as err:
            print(f'flops_accuracy.py: external rows: {err}', file=sys.stderr)
            return None
    report = evaluator.evaluate()
    return report, evaluator.per_image_records() if args.per_image else None


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.utils.one_process import refuse_several_processes
    if refuse_several_processes('flops_accuracy.py'):
        return 2
    import torch

    from dld.apis.model_loading import load_config
    from dld.apis.report_writing import console_report, markdown_report, write_report
    from dld.engine.launch import config_errors_exit
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    with config_errors_exit('flops_accuracy.py'):
        cfg = load_config(args.config, args.cfg_options)
    from dld.utils.stop_signals import said, signals_as_one_stop, stop_signal, stop_status
    with signals_as_one_stop() as stopping:
        try:
            evaluated = _evaluate(args, cfg, device)
        except (KeyboardInterrupt, RuntimeError) as err:  # reading the test set too
            name = stop_signal(err)  # a loader worker killed by a group SIGTERM too
            if name is None:
                raise
            stopping.append(name)
            # nothing is written until the end: nothing half
            print(f'flops_accuracy.py: stopped by {said(name)}: no report written',
                  file=sys.stderr)
            return stop_status(name)
    if evaluated is None:
        return 2
    report, records = evaluated
    if args.external or args.external_readings:
        from dld.apis.external_predictions import add_external_rows
        from dld.apis.reading_analysis import ReadingsError
        try:
            add_external_rows(report, args.external, args.external_readings)
        except (ValueError, ReadingsError) as err:
            print(f'flops_accuracy.py: external rows: {err}', file=sys.stderr)
            return 2
    for note in report.get('notes', []):  # in report.md too; rows left out are said here
        print(f'flops_accuracy.py: note: {note}', file=sys.stderr)
    # What the config file alone does not say (a reread cascade, a test set).
    report['inputs']['cfg_options'] = dict(args.cfg_options or {})
    print(console_report(report))  # first: within 100 columns, the files hold every column
    try:
        paths = write_report(report, args.out)
    except OSError as err:  # a full disk: the whole table is what is left
        print('\n' + markdown_report(report).split('![')[0].rstrip())
        print(f'flops_accuracy.py: cannot write the report into {args.out}: '
              f'{err.strerror or err}; the table above holds its figures', file=sys.stderr)
        return 2
    print(f"\nReport written to {paths['report.md']} (+ .csv, .json, pareto.png, scales.png)",
          file=sys.stderr)
    if records is not None:
        try:
            _write_jsonl(args.per_image, records)
        except OSError as err:
            print(f'flops_accuracy.py: cannot write --per-image {args.per_image}: '
                  f'{err.strerror or err}', file=sys.stderr)
            return 2
        print(f'{len(records)} per-image record(s) written to {args.per_image} '
              f'(tools/analysis/analyze_readings.py {args.per_image})', file=sys.stderr)
    return 0


def _write_jsonl(path: str, records) -> None:
    """One JSON record a line, whole or not at all."""
    import json

    from dld.utils.atomic_file import write_text_atomic
    write_text_atomic(path, ''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in records))


if __name__ == '__main__':
    sys.exit(main())
