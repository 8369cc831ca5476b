"""Another method's predictions (a CSV) as readings DLD's analysis tools compare.

    python tools/analysis/score_predictions.py PREDICTIONS.csv --like DLD.jsonl
        --out EXT.jsonl [--root DIR] [--gflops G] [--flops-per-mac 1|2]
        [--allow-extra]

PREDICTIONS.csv has a header naming an image column (path, image, img,
file or filename) and a text column (text, pred, prediction or pred_text),
and optionally ``gflops`` (per image) and ``confidence``. DLD.jsonl is a DLD
model's readings of the same test set (``tools/infer.py CONFIG CKPT
data/.../test.txt --out DLD.jsonl``): its labels, tracks and case rule score
the CSV, so both are scored alike (upper-cased unless the config's plate
metric is case-sensitive), and an image the CSV lacks is counted as read
wrong (a ``MissingPrediction`` record), never left out. A relative CSV path
starts from the label file's folder, as the label file's own lines do
(``--root`` another).

Then:

    # paired: McNemar, an interval over tracks
    python tools/analysis/analyze_readings.py EXT.jsonl DLD.jsonl
    # a row and a point of the FLOPs / accuracy report
    python tools/flops_accuracy.py ... --external-readings NAME=EXT.jsonl

Exit status: 0, or 2 when a file cannot be read or the two do not match.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('predictions', help='the CSV of predictions, one row an image')
    parser.add_argument('--like', required=True, metavar='READINGS',
                        help="a DLD model's readings of the same images (tools/infer.py "
                        '--out): their labels, tracks and case rule')
    parser.add_argument('--out', required=True, help='the records to write (JSON lines)')
    parser.add_argument('--root', help="the folder the CSV's relative paths start from "
                        "(default: the reference's label file's)")
    parser.add_argument('--gflops', type=float, metavar='G',
                        help='GFLOPs of every reading, where the CSV has no gflops column')
    parser.add_argument('--flops-per-mac', type=int, choices=(1, 2), default=1,
                        help='2 where the GFLOPs count a multiply-add as two flops (halved: '
                        'DLD counts one)')
    parser.add_argument('--allow-extra', action='store_true',
                        help='leave out CSV rows that name no image of the reference (said) '
                        'instead of stopping')
    args = parser.parse_args(argv)
    if args.gflops is not None and not args.gflops >= 0:
        parser.error(f'--gflops must be >= 0, got {args.gflops}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.apis.external_predictions import (
        read_predictions,
        score_predictions,
        summary_scores,
    )
    from dld.apis.reading_analysis import ReadingsError, load_records
    try:
        reference = load_records(args.like)
        rows = read_predictions(args.predictions)
        found = score_predictions(rows, reference, args.predictions, root=args.root,
                                  gflops=args.gflops, flops_per_mac=args.flops_per_mac,
                                  allow_extra=args.allow_extra)
        scores = summary_scores(found['records'])
    except ReadingsError as err:
        print(f'score_predictions.py: {err}', file=sys.stderr)
        return 2
    from dld.utils.atomic_file import write_text_atomic
    try:
        write_text_atomic(args.out, ''.join(json.dumps(r, ensure_ascii=False) + '\n'
                                            for r in found['records']))
    except OSError as err:
        print(f'score_predictions.py: cannot write {args.out}: {err.strerror}', file=sys.stderr)
        return 2
    n = scores['num_images']
    print(f"{args.predictions}: {n} labelled image(s) of {args.like}; plate accuracy "
          f"{100 * scores['accuracy']:.2f} % ({round(scores['accuracy'] * n)}/{n}), char "
          f"{100 * scores['char_accuracy']:.2f} %"
          + (f", track {100 * scores['track_accuracy']:.2f} %"
             if scores['track_accuracy'] is not None else '')
          + (f", {scores['gflops']:.4f} GFLOPs / image" if scores['gflops'] is not None
             else ', no GFLOPs (--gflops, or a gflops column)'))
    if found['missing']:
        print(f"score_predictions.py: {found['missing']} image(s) of {args.like} have no row "
              f'in {args.predictions}: counted as read wrong', file=sys.stderr)
    if found['extra']:
        print(f"score_predictions.py: {found['extra']} row(s) of {args.predictions} name no "
              'image of the reference: left out (--allow-extra)', file=sys.stderr)
    print(f'records in {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
