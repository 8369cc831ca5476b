"""How a track's frames are best fused into one answer: each vote, measured.

    python benchmarks/track_fusion.py CONFIG CKPT INPUT [INPUT ...]
        [--scale S] [--beam-width W] [--layouts L ...] [--device D]
        [--batch-size N] [--resamples 2000] [--json OUT]

The student reads every labelled frame of INPUT (a label file, or ICPR track
folders) once, as ``tools/infer.py`` reads it (the selector's scale, or
``--scale``); then each track is answered by each vote of
:func:`dld.evaluation.metrics.vote_track`: whole readings (``text``, the
default) or characters position by position (``chars``), each also among
the readings that fit ``--layouts`` when given. Printed per vote: the track
accuracy, its lead over ``text`` with a 95 % interval from a bootstrap over
tracks (both votes answer the same tracks, so the lead is paired), and the
challenge's confidence gap (right minus wrong, see
:func:`~dld.evaluation.metrics.confidence_gap`).
"""
import argparse
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from tabulate import tabulate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's dld
from numeric_options import at_least  # noqa: E402
from numeric_options import scale as scale_type  # noqa: E402
from paired_lead import paired_lead  # noqa: E402

from benchmarks.script_exit import json_file, run_script  # noqa: E402
from dld.reading_limits import MAX_BEAM_WIDTH  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402


def labelled_tracks(records: Sequence[dict]) -> Dict[str, List[dict]]:
    """The read frames of each labelled track."""
    tracks: Dict[str, List[dict]] = defaultdict(list)
    for rec in records:
        if rec['error'] is None and rec.get('track_id') is not None and rec.get('gt_text'):
            tracks[rec['track_id']].append(rec)
    return dict(tracks)


def fuse_all(tracks: Dict[str, List[dict]], layouts: Optional[Sequence[str]],
             case_sensitive: bool, resamples: int = 2000) -> List[dict]:
    """One row per vote: accuracy, lead over ``text`` and its interval,
    confidence gap. Readings are upper-cased first unless ``case_sensitive``,
    as ``TrackAccuracyMetric`` and ``tools/infer.py`` vote."""
    from dld.apis.plate_matching import plate_read_right
    from dld.evaluation.metrics import (
        VOTE_METHODS,
        as_layouts,
        confidence_gap,
        track_confidence,
        vote_track,
    )
    norm = str if case_sensitive else str.upper
    votes = [(m, None) for m in VOTE_METHODS]
    if layouts:
        votes += [(m, as_layouts(layouts)) for m in VOTE_METHODS]
    ids = sorted(tracks)
    right, rows = {}, []
    for method, fits in votes:
        outcomes = []
        for track_id in ids:
            frames = tracks[track_id]
            readings = [(r['frame_idx'] or 0, norm(r['text']), r['confidence'])
                        for r in frames]
            answer = vote_track(readings, fits, method)
            outcomes.append((plate_read_right(answer, frames[0]['gt_text'], case_sensitive),
                             track_confidence(readings, answer)))
        name = method + (f" + layouts {'/'.join(fits)}" if fits else '')
        right[name] = np.array([ok for ok, _ in outcomes], dtype=bool)
        lead = paired_lead(right[name], right['text'], np.arange(len(ids)), resamples)
        rows.append(dict(vote=name, method=method, layouts=list(fits or []),
                         accuracy=lead['dld'], lead=lead['lead'], low=lead['low'],
                         high=lead['high'], **confidence_gap(outcomes)))
    return rows


def fusion_table(rows: List[dict]) -> str:
    return tabulate(
        [[r['vote'], f"{r['accuracy']:.2f}",
          '-' if r['vote'] == 'text' else f"{r['lead']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}]",
          f"{r['confidence_gap']:.3f}" if 'confidence_gap' in r else '-'] for r in rows],
        headers=['vote', 'track acc. (%)', 'vs text (pt, 95% interval)', 'confidence gap'],
        tablefmt='github', disable_numparse=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help="the model's config (DLD or recogniser)")
    parser.add_argument('checkpoint', help="the model's trained weights")
    parser.add_argument('inputs', nargs='+', help='label files or ICPR track folders')
    parser.add_argument('--scale', type=scale_type, help='read every frame at this scale')
    parser.add_argument('--beam-width', type=at_least(1, maximum=MAX_BEAM_WIDTH),
                        help="default: the config's decoding")
    parser.add_argument('--layouts', nargs='+', help='also vote among fitting readings, '
                        'e.g. brazilian mercosur')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (default: %(default)s)")
    parser.add_argument('--batch-size', type=at_least(1), default=64,
                        help='frames read per batch (default: %(default)s)')
    parser.add_argument('--resamples', type=at_least(1), default=2000,
                        help='bootstrap resamples over tracks (default: %(default)s)')
    parser.add_argument('--json', type=json_file, help='write the rows here')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.apis import PlateRecognizer
    from dld.apis.plate_matching import plate_read_right
    from dld.evaluation.metrics import layout_matcher
    fits = layout_matcher(args.layouts or ())  # a bad layout fails before the reading
    reader = PlateRecognizer(args.config, args.checkpoint, device=args.device,
                             batch_size=args.batch_size)
    records = reader(args.inputs, scale=args.scale, beam_width=args.beam_width)['predictions']
    tracks = labelled_tracks(records)
    if not tracks:
        unread = sorted({r['input'] for r in records if r.get('error')})
        why = (f"; {len(unread)} input(s) could not be read, e.g. {unread[0]}: "
               f"{next(r['error'] for r in records if r['input'] == unread[0])}"
               if unread else '')
        print(f'track_fusion.py: no labelled track was read{why}', file=sys.stderr)
        return 1
    frames = [r for frames in tracks.values() for r in frames]
    per_frame = 100 * np.mean([plate_read_right(r['text'], r['gt_text'], reader.case_sensitive)
                               for r in frames])
    rows = fuse_all(tracks, args.layouts, reader.case_sensitive, args.resamples)
    scale = f'scale {args.scale:g}' if args.scale else 'the selector\'s scales'
    norm = str if reader.case_sensitive else str.upper
    fitting = sum(fits(norm(r['text'])) for r in frames) if args.layouts else None
    print(f'{len(tracks)} labelled tracks, {len(frames)} frames read at {scale}; '
          f'{per_frame:.2f} % of frames read right'
          + (f'; {fitting} readings fit the layouts' if fitting is not None else ''))
    print(fusion_table(rows))
    if args.json:
        write_json_atomic(args.json, dict(tracks=len(tracks), frames=len(frames),
                                          per_frame_accuracy=per_frame, scale=args.scale,
                                          readings_fitting_layouts=fitting,
                                          rows=rows), indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'track_fusion.py'))
