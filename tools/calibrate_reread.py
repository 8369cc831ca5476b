"""Pick the reread cascade's threshold and scales for a FLOPs budget, on the validation split.

    python tools/calibrate_reread.py CONFIG CKPT [--max-flops 0.30] [--selector-bias]
        [--confidence 0.95] [--scales 0.6 0.8] [--split val] [--json OUT] [--device D]
        [--cfg-options key=value ...]

Reads every validation image once at every candidate scale, replays the
cascade (``test_cfg.reread`` of the DLD config: reread at larger scales the
images the student reads with a sequence probability below ``min_score``)
for a grid of thresholds and every chain of scales (or the ``--scales``
given), and prints the most accurate setting whose mean FLOPs, the selector
and every read included, stay within ``--max-flops`` of the teacher's with
``--confidence`` (an upper bound over track means: a split of other tracks
varies by about that much). It
ends with the ``--cfg-options`` that deploy it (tools/test.py, infer.py,
flops_accuracy.py). docs/results.md uses it.

With ``--selector-bias`` it calibrates the selector itself instead, for
budgets below (or above) what the trained selector spends: the selector's
logits shifted by ``-w x`` each scale's relative FLOPs
(``model.test_cfg.selector_bias``), ``w`` the most accurate within
``--max-flops`` (``w > 0`` sends images to cheaper scales, ``w < 0`` to
dearer ones), no retraining.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import math
import pickle
import sys

from dld.cli_options import ConfigOptionsAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the DLD config')
    parser.add_argument('checkpoint', help='the DLD checkpoint (student + trained selector)')
    parser.add_argument('--max-flops', type=float, default=0.30,
                        help="budget: mean FLOPs per image over the teacher's (default 0.30)")
    parser.add_argument('--confidence', type=float, default=0.95,
                        help='hold the budget with this confidence (one-sided bound of '
                        'the mean FLOPs over tracks; 0.5: the mean itself; default 0.95)')
    parser.add_argument('--scales', type=float, nargs='+',
                        help='reread at these scales only (default: try every set of '
                        'candidate scales)')
    parser.add_argument('--selector-bias', action='store_true',
                        help='calibrate a bias of the selector\'s logits against each '
                        "scale's FLOPs (model.test_cfg.selector_bias) instead of the reread "
                        'cascade: reaches budgets below the selector\'s own cost')
    parser.add_argument('--split', choices=('val', 'test'), default='val',
                        help='the split to calibrate on (default val: keep test for the report)')
    parser.add_argument('--json', help='write the chosen setting and each chain\'s best here')
    parser.add_argument('--device', default=None, help="e.g. 'cpu', 'cuda:0'")
    parser.add_argument('--max-batches', type=int, help='use only the first N batches')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, as in tools/train.py')
    args = parser.parse_args(argv)
    if not 0.5 <= args.confidence < 1.0:
        parser.error(f'--confidence must be in [0.5, 1), got {args.confidence}')
    if args.selector_bias and args.scales:
        parser.error('--scales chooses reread scales; --selector-bias calibrates no cascade')
    if args.max_batches is not None and args.max_batches < 1:
        parser.error(f'--max-batches must be at least 1, got {args.max_batches} '
                     '(leave it out to calibrate on the whole split)')
    return args


def _distinct(results: list) -> list:
    """Leave out a chain whose best setting rereads nothing, or reads and costs
    exactly what a shorter one's does (a scale the cascade never reaches
    changes nothing)."""
    results = [r for r in results if r.reread_fraction > 0]
    seen, kept = set(), set()
    for i in sorted(range(len(results)), key=lambda i: len(results[i].scales)):
        r = results[i]
        key = (r.min_score, r.accuracy, r.relative_flops)
        if key not in seen:
            seen.add(key)
            kept.add(i)
    return [r for i, r in enumerate(results) if i in kept]


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.utils.one_process import refuse_several_processes
    if refuse_several_processes('calibrate_reread.py'):
        return 2
    from dld.utils.output_paths import unwritable_outputs
    problems = unwritable_outputs(files=[('--json', args.json, '.json')],
                                  inputs=[args.config, args.checkpoint])
    if problems:  # asked before the split is read, which takes minutes
        print('calibrate_reread.py: ' + '\ncalibrate_reread.py: '.join(problems),
              file=sys.stderr)
        return 2
    import torch
    from tabulate import tabulate

    from dld.apis.flops_accuracy import CachedTestSet
    from dld.apis.model_loading import init_model, load_config
    from dld.apis.plate_matching import plate_metric_case_sensitive
    from dld.apis.reread_calibration import calibrate, collect_readings, replay
    from dld.engine.launch import config_errors_exit, data_errors_exit, ensure_config_data
    from dld.utils.atomic_file import write_json_atomic
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    with config_errors_exit('calibrate_reread.py'):
        cfg = load_config(args.config, args.cfg_options)
    with config_errors_exit('calibrate_reread.py'), data_errors_exit('calibrate_reread.py'):
        ensure_config_data(cfg)
    if args.split == 'val':
        if not cfg.get('val_dataloader'):
            print(f'{args.config} has no val_dataloader: pass --split test (and report on '
                  'other images) or add one.', file=sys.stderr)
            return 2
        cfg.test_dataloader = cfg.val_dataloader
    from dld.apis.model_loading import CheckpointMismatchError
    from dld.engine.checkpoint import CheckpointReadError
    try:
        model, _ = init_model(cfg, args.checkpoint, device=device)
    except (OSError, KeyError, TypeError, ValueError, pickle.UnpicklingError,
            CheckpointReadError, CheckpointMismatchError) as err:  # unreadable, or not this model's
        print(f'calibrate_reread.py: cannot load the model: {err}', file=sys.stderr)
        return 2
    from dld.apis.flops_accuracy import check_no_forced_scale
    try:
        check_no_forced_scale(model, 'calibrate_reread.py')
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    candidates = sorted(float(s) for s in model.scales)
    unknown = sorted(set(args.scales or ()) - set(candidates))
    if unknown:  # before reading the split at every scale, not after
        print(f"--scales {' '.join(f'{s:g}' for s in unknown)}: not candidate scales of "
              f"{args.config}, which are {' '.join(f'{s:g}' for s in candidates)}",
              file=sys.stderr)
        return 2
    data = CachedTestSet(cfg, with_hr=False, max_batches=args.max_batches)
    readings = collect_readings(model, data.batches, plate_metric_case_sensitive(cfg))
    if args.selector_bias:
        return _calibrate_bias(args, model, readings)
    chains = [tuple(args.scales)] if args.scales else None
    best, per_chain = calibrate(readings, args.max_flops, chains, confidence=args.confidence)
    alone = replay(readings, 0.0, ())
    print(f'{len(readings.first)} {args.split} images; selector alone: '
          f'{100 * alone.accuracy:.2f} % at {100 * alone.relative_flops:.1f} % of the '
          f"teacher's FLOPs. Best setting of each chain within {100 * args.max_flops:.0f} % "
          f'at {100 * args.confidence:g} % confidence (chains that change nothing left '
          'out):')
    shown = _distinct(per_chain)[:10]
    print(tabulate([[' '.join(f'{s:g}' for s in r.scales), f'{r.min_score:.3f}',
                     f'{100 * r.accuracy:.2f}', f'{100 * r.relative_flops:.1f}',
                     f'{100 * r.flops_bound(args.confidence):.1f}',
                     f'{100 * r.reread_fraction:.1f}'] for r in shown],
                   headers=['reread scales', 'min_score', 'plate acc. (%)',
                            'FLOPs (% of teacher)', 'bound (%)', 'reread (%)'],
                   tablefmt='github', disable_numparse=True) if shown else
          ('(no chain rereads an image within the budget)' if not per_chain else
           '(no chain gains by rereading: the best setting of each rereads no image)'))
    # a setting that rereads no image is no cascade to set: chosen is null then too
    rereads = best is not None and best.reread_fraction > 0
    if args.json:  # also where nothing fits: what was measured is kept (chosen: null)
        write_json_atomic(args.json, dict(
            split=args.split, num_images=len(readings.first), max_relative_flops=args.max_flops,
            confidence=args.confidence, chosen=best.as_dict() if rereads else None,
            advice=('set the chosen reread' if rereads else 'leave reread off' if best
                    else 'nothing fits the budget'),
            selector_alone=alone.as_dict(), per_chain=[r.as_dict() for r in per_chain]),
            indent=2)
    if best is None:
        bound = alone.flops_bound(args.confidence)
        over = (f'; the selector alone is already at {100 * bound:.1f} % at '
                f'{100 * args.confidence:g} % confidence (--selector-bias shifts it to '
                'cheaper scales, no retraining)' if bound > args.max_flops else '')
        if math.isinf(bound):  # one track: its mean has no error to bound it with
            over = (f'; {args.split} holds one track, whose mean FLOPs give no bound at '
                    f'{100 * args.confidence:g} % confidence: give a split of more tracks, '
                    'or --confidence 0.5 (the mean)')
        print(f'No setting fits {100 * args.max_flops:.0f} % of the teacher\'s FLOPs{over}.',
              file=sys.stderr)
        return 1
    if best.reread_fraction == 0:  # a threshold no reading falls under
        print('\nNo reread setting improves on the selector alone within the budget: '
              'leave model.test_cfg.reread off.')
        return 0
    scales = '[' + ','.join(f'{s:g}' for s in best.scales) + ']'
    print(f'\nChosen: --cfg-options model.test_cfg.reread.min_score={best.min_score:g} '
          f'model.test_cfg.reread.scales={scales}')
    return 0


def _calibrate_bias(args, model, readings) -> int:
    """``--selector-bias``: the most accurate cost weight within the budget."""
    from tabulate import tabulate

    from dld.apis.reread_calibration import calibrate_selector_bias, replay_bias
    from dld.utils.atomic_file import write_json_atomic
    if model.test_cfg.get('reread'):
        print('note: the model\'s test_cfg.reread is left out of this calibration (the '
              'selector alone); calibrate the cascade again after setting the bias',
              file=sys.stderr)
    best, tried = calibrate_selector_bias(readings, args.max_flops, args.confidence)
    alone = replay_bias(readings, 0.0)
    asc = readings.scales
    names = [f'{s:g}x' for s in asc]

    print(f'{len(readings.first)} {args.split} images; selector alone: '
          f'{100 * alone.accuracy:.2f} % at {100 * alone.relative_flops:.1f} % of the '
          f"teacher's FLOPs. Selector logits shifted by -w x each scale's relative FLOPs "
          '(a pareto front of w; w > 0: cheaper):')
    front, top = [], -1.0
    # among equal points the smallest shift first, as the choice below breaks ties
    for r in sorted(tried, key=lambda r: (r.relative_flops, -r.accuracy, abs(r.cost_weight))):
        if r.accuracy > top:
            front.append(r)
            top = r.accuracy
    step = max(1, len(front) // 12)
    shown = front[::step] + ([front[-1]] if (len(front) - 1) % step else [])
    print(tabulate([[f'{r.cost_weight:.3g}', f'{100 * r.accuracy:.2f}',
                     f'{100 * r.relative_flops:.1f}',
                     f'{100 * r.flops_bound(args.confidence):.1f}',
                     ' '.join(f'{100 * v:.0f}' for v in r.shares)] for r in shown],
                   headers=['w', 'plate acc. (%)', 'FLOPs (% of teacher)', 'bound (%)',
                            'share (%) at ' + ' '.join(names)],
                   tablefmt='github', disable_numparse=True))
    if args.json:
        write_json_atomic(args.json, dict(
            split=args.split, num_images=len(readings.first), max_relative_flops=args.max_flops,
            confidence=args.confidence, scales=[float(s) for s in model.scales],
            chosen=None if best is None else dict(
                cost_weight=best.cost_weight, selector_bias=best.selector_bias(model.scales),
                accuracy=best.accuracy, relative_flops=best.relative_flops,
                shares=dict(zip(names, best.shares))),
            selector_alone=dict(accuracy=alone.accuracy, relative_flops=alone.relative_flops)),
            indent=2)
    if best is None:
        cheapest = min(tried, key=lambda r: r.relative_flops)
        why = (f'even every image at {asc[0]:g}x costs more' if cheapest.relative_flops >
               args.max_flops else
               f'{args.split} holds one track, whose mean FLOPs give no bound at '
               f'{100 * args.confidence:g} % confidence: give a split of more tracks, or '
               '--confidence 0.5 for the plain mean' if math.isinf(cheapest.flops_bound(
                   args.confidence)) else
               f'the {100 * args.confidence:g} % bound of every setting is above it')
        print(f"No selector bias fits {100 * args.max_flops:.0f} % of the teacher's FLOPs "
              f'at {100 * args.confidence:g} % confidence: {why}.', file=sys.stderr)
        return 1
    bias = '[' + ','.join(f'{b:.6g}' for b in best.selector_bias(model.scales)) + ']'
    print(f'\nChosen: w={best.cost_weight:.4g}, {100 * best.accuracy:.2f} % at '
          f'{100 * best.relative_flops:.1f} % of the teacher\'s FLOPs (bound '
          f'{100 * best.flops_bound(args.confidence):.1f} %)')
    print(f'Chosen: --cfg-options model.test_cfg.selector_bias={bias}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
