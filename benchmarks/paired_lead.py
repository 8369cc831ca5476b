"""How sure the DLD student's lead over the no-KD student is, scale by scale.

    python benchmarks/paired_lead.py CONFIG CKPT --baseline-ckpt B
        [--baseline-config C] [--scales 1 0.8 ...] [--resamples 2000]
        [--baseline-name NAME] [--json OUT] [--device D] [--max-batches N]

Both students read the same test frames, so the lead is measured frame by
frame: how many plates only the DLD student reads and how many only the
no-KD student reads. Its 95 % interval comes from a bootstrap over tracks,
not frames, since the frames of one track share a plate and are read
alike. A paired interval is much narrower than the two students' own
standard errors would suggest, because the two read most plates alike.

The baseline may be another DLD run's student (``--baseline-ckpt`` a DLD
checkpoint, ``--baseline-config configs/student_plate_lr.py``,
``--baseline-name``): the recipe control is compared that way.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's dld
from numeric_options import at_least, positive  # noqa: E402

from benchmarks.script_exit import json_file, run_script  # noqa: E402
from dld.cli_options import ConfigOptionsAction  # noqa: E402

#: Below this many tracks the bootstrap interval is said to be rough: a 95 %
#: one held about 91 % of the time over 30 tracks, 93 % over 60 (simulated;
#: dld.evaluation.paired_bootstrap).
FEW_TRACKS = 100


def paired_lead(dld_right: np.ndarray, base_right: np.ndarray, group: np.ndarray,
                resamples: int = 2000, seed: int = 0, level: float = 0.95) -> Dict[str, float]:
    """The lead (pt) of ``dld_right`` over ``base_right`` (bool per frame) and its
    ``level`` bootstrap interval, resampling whole groups (tracks)."""
    from dld.evaluation.paired_bootstrap import paired_difference
    found = paired_difference(dld_right, base_right, group, resamples, seed, level)
    return dict(dld=100 * float(dld_right.mean()), baseline=100 * float(base_right.mean()),
                lead=100 * found['difference'], low=100 * found['low'],
                high=100 * found['high'],
                only_dld=int((dld_right & ~base_right).sum()),
                only_baseline=int((base_right & ~dld_right).sum()),
                frames=found['images'], tracks=found['groups'])


def read_both(config: str, checkpoint: str, baseline_checkpoint: str,
              baseline_config: Optional[str], scales: Optional[Sequence[float]],
              device: str = 'cpu', max_batches: Optional[int] = None,
              cfg_options: Optional[dict] = None) -> dict:
    """Per test image and scale, whether each student reads the plate right (as
    ``tools/flops_accuracy.py`` reads it), and each image's track.
    ``cfg_options``: changes to the DLD config (another test set, say), as
    ``--cfg-options`` makes them."""
    from dld.apis.flops_accuracy import FlopsAccuracyEvaluator
    if cfg_options:
        from dld.apis.model_loading import load_config
        config = load_config(config, cfg_options)
    evaluator = FlopsAccuracyEvaluator(
        config, checkpoint, baseline_checkpoint=baseline_checkpoint,
        baseline_config=baseline_config, scales=scales, device=device,
        max_batches=max_batches, with_teacher=False)
    right = {which: {s: np.asarray(evaluator.read_fixed(which, s).correct, dtype=bool)
                     for s in evaluator.scales} for which in ('dld', 'nokd')}
    return dict(scales=list(evaluator.scales), tracks=np.asarray(evaluator.track_ids()),
                right=right)


def lead_table(rows: List[dict], baseline: str = 'no-KD') -> str:
    from tabulate import tabulate
    return tabulate(
        [[f"{r['scale']:g}x", f"{r['dld']:.2f}", f"{r['baseline']:.2f}", f"{r['lead']:+.2f}",
          f"[{r['low']:+.2f}, {r['high']:+.2f}]", r['only_dld'], r['only_baseline']]
         for r in rows],
        headers=['scale', 'DLD (%)', f'{baseline} (%)', 'lead (pt)', '95% interval (tracks)',
                 'only DLD reads', f'only {baseline} reads'],
        tablefmt='github', disable_numparse=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the DLD config (its test set is read)')
    parser.add_argument('checkpoint', help='the DLD checkpoint')
    parser.add_argument('--baseline-ckpt', required=True,
                        help="the no-KD student, or a DLD checkpoint whose student is "
                        "compared (another DLD run's)")
    parser.add_argument('--baseline-config', help="its config (default: the DLD student's)")
    parser.add_argument('--scales', type=positive, nargs='+',
                        help="default: the distiller's candidate scales")
    parser.add_argument('--baseline-name', default='no-KD',
                        help="the baseline's name in the table (default: no-KD)")
    parser.add_argument('--resamples', type=at_least(1), default=2000,
                        help='bootstrap resamples over tracks (default: %(default)s)')
    parser.add_argument('--json', type=json_file, help='also write the rows here')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (default: %(default)s)")
    parser.add_argument('--max-batches', type=at_least(1), help='read only the first N batches')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override settings of the DLD config, as in tools/train.py (e.g. '
                        'test_dataloader.dataset.ann_file=val.txt: another split)')
    args = parser.parse_args(argv)
    read = read_both(args.config, args.checkpoint, args.baseline_ckpt, args.baseline_config,
                     args.scales, args.device, args.max_batches, args.cfg_options)
    rows = [dict(scale=s, **paired_lead(read['right']['dld'][s], read['right']['nokd'][s],
                                        read['tracks'], args.resamples))
            for s in read['scales']]
    n = rows[0]
    print(f"{n['frames']} frames of {n['tracks']} tracks of the config's test set; the lead of "
          f'the DLD student over the {args.baseline_name} student at each fixed scale, paired '
          'by frame:')
    print(lead_table(rows, args.baseline_name))
    if n['tracks'] < FEW_TRACKS:  # a bootstrap over a handful of tracks is no interval
        print(f"\nnote: {n['tracks']} tracks: an interval from resampling so few is rough "
              '(it covers the lead less often than it says; with 2, all but degenerate); '
              'read it on a larger set')
    if args.json:
        from dld.utils.atomic_file import write_json_atomic
        write_json_atomic(args.json, dict(
            rows=rows, max_batches=args.max_batches, config=args.config,
            checkpoint=args.checkpoint, baseline_ckpt=args.baseline_ckpt,
            baseline_config=args.baseline_config, baseline_name=args.baseline_name,
            resamples=args.resamples, cfg_options=dict(args.cfg_options or {})), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'paired_lead.py'))
