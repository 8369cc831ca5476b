"""How close any selector over a trained student can come to the oracle.

    python benchmarks/selector_headroom.py CONFIG CKPT [--fit fresh|train|val]
        [--eval test] [--fresh-tracks 1000] [--train-gap] [--max-ratio 1.15]
        [--json OUT] [--cfg-options key=value ...]

Issue target 3 asks the selector's FLOPs to be within 15 % of the oracle's at
equal accuracy. This script tells whether a miss is the selector's training
or what its input can show (dld.apis.selector_headroom). It reads every
image of a *fit* set and of the *eval* set at every candidate scale, then:

* trains correctness probes (the selector's network, and a wider one on a
  larger thumbnail) on the fit set to predict which scales read each image
  right, and uses each as a selector on the eval set;
* measures how well the student's own score tells right readings (what a
  reread cascade uses), and a cascade that starts every image at the
  smallest scale;
* prints, for the deployed selector (alone and with the config's reread)
  and each policy, its FLOPs against the oracle's at the same accuracy, and
  the highest accuracy at which it stays within ``--max-ratio``.

The fit set should hold images the student never trained on (the student
reads its own training images better than new ones, and a probe fitted there
learns that optimism): ``fresh`` (default when the config generates
synthetic plates) renders ``--fresh-tracks`` new tracks with another seed;
``--train-gap`` also reads the training split to show the difference.
"""
import argparse
import copy
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.numeric_options import at_least, positive  # noqa: E402
from benchmarks.script_exit import json_file, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402

PROBES = (((16, 48), (8, 16, 32)), ((24, 72), (16, 32, 64)))
"""Probes as ``(thumbnail (h, w), conv widths)``: the deployed selector's shape,
and one with twice the widths on a 1.5x larger thumbnail (about 7x its FLOPs:
0.4 % of the plate teacher's, 1.4 % of a 0.5x read)."""
THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='the DLD config the checkpoint was trained with')
    p.add_argument('checkpoint', nargs='?',
                   help='DLD checkpoint with a trained selector (without one the weights '
                   'are random: only good for trying the script)')
    p.add_argument('--fit', choices=('fresh', 'train', 'val', 'test'),
                   help='images the probes learn from (default: fresh when the config '
                   'has synth_plates, else val)')
    p.add_argument('--eval', default='test', choices=('val', 'test'),
                   help='images every policy is judged on')
    p.add_argument('--fresh-tracks', type=at_least(1), default=1000,
                   help='new tracks rendered for --fit fresh (default: %(default)s)')
    p.add_argument('--fresh-dir', default='work_dirs/selector_headroom/plates',
                   help='where --fit fresh renders its plates (reused when present)')
    p.add_argument('--train-gap', action='store_true',
                   help="also read the training split: the student's accuracy there")
    p.add_argument('--probe-epochs', type=at_least(1), default=30,
                   help='training epochs of each correctness probe (default: %(default)s)')
    p.add_argument('--max-ratio', type=positive, default=1.15,
                   help="most FLOPs a policy may spend, over the oracle's (default: %(default)s)")
    p.add_argument('--max-batches', type=at_least(1),
                   help='read at most this many batches per split')
    p.add_argument('--device', help='cpu or cuda (default: cuda when available)')
    p.add_argument('--json', type=json_file, help='write the figures here')
    from dld.cli_options import ConfigOptionsAction
    p.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                   help='override config settings (e.g. model.test_cfg.reread...)')
    return p.parse_args(argv)


def split_loader(cfg, split: str, fresh_root: str = None) -> dict:
    """The test dataloader (test pipeline, every frame) pointed at ``split``."""
    if split == 'test':
        return copy.deepcopy(cfg.test_dataloader)
    if split == 'val':
        if not cfg.get('val_dataloader'):
            raise ValueError('the config has no val_dataloader: pick another split')
        return copy.deepcopy(cfg.val_dataloader)
    loader = copy.deepcopy(cfg.test_dataloader)
    if split == 'fresh':
        loader.dataset.update(data_root=fresh_root, ann_file='train.txt')
    else:  # train, read like the test set
        train = cfg.train_dataloader.dataset
        loader.dataset.update(data_root=train.get('data_root', ''), ann_file=train.ann_file)
    return loader


def render_fresh_plates(cfg, root: str, tracks: int) -> None:
    """New tracks like the config's synthetic set, with another seed."""
    from dld.datasets import ensure_synth_plates
    if not cfg.get('synth_plates'):
        raise ValueError('--fit fresh needs a config that generates synthetic plates '
                         '(synth_plates); pick --fit val')
    kwargs = {k: v for k, v in cfg.synth_plates.items() if k != 'data_root'}
    kwargs.update(tracks=tracks, val_tracks=1, test_tracks=1,
                  seed=int(kwargs.get('seed', 0)) + 1000)
    ensure_synth_plates(root, **kwargs)


def read_split(model, cfg, split: str, args, fresh_root: str = None):
    from dld.apis.flops_accuracy import CachedTestSet
    from dld.apis.plate_matching import plate_metric_case_sensitive
    from dld.apis.reread_calibration import collect_readings
    split_cfg = copy.deepcopy(cfg)
    split_cfg.test_dataloader = split_loader(cfg, split, fresh_root)
    data = CachedTestSet(split_cfg, with_hr=False, max_batches=args.max_batches)
    return collect_readings(model, data.batches, plate_metric_case_sensitive(cfg),
                            thumb_sizes=[size for size, _ in PROBES])


def _tracks_listed(label_file: str) -> int:
    """How many tracks (label lines) ``label_file`` lists; 0 where it is not there."""
    if not osp.isfile(label_file):
        return 0
    with open(label_file, encoding='utf-8-sig') as f:
        return sum(1 for line in f if line.strip() and not line.lstrip().startswith('#'))


def _pct(x, digits=2):
    return '-' if x is None or x != x else f'{100 * x:.{digits}f}'


def _point_row(p):
    return [p.policy, p.setting, _pct(p.accuracy), _pct(p.relative_flops, 1),
            _pct(p.oracle_flops, 1), f'{p.oracle_ratio:.2f}']


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from tabulate import tabulate

    init_default_scope('dld')
    from dld.apis import selector_headroom as hr
    from dld.apis.model_loading import init_model, load_config
    from dld.apis.reread_calibration import replay
    from dld.engine.launch import ensure_config_data
    from dld.utils.flops import count_flops

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.checkpoint and not osp.isfile(args.checkpoint):  # before the plates are made
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}')
    cfg = load_config(args.config, args.cfg_options)
    ensure_config_data(cfg)
    fit = args.fit or ('fresh' if cfg.get('synth_plates') else 'val')
    if fit == args.eval:
        print(f'--fit and --eval are both {fit}: the probes would be judged on the images '
              'they learned from.', file=sys.stderr)
        return 2
    for option, split in (('--fit', fit), ('--eval', args.eval)):
        if split == 'val' and not cfg.get('val_dataloader'):  # named as the option asked
            print(f'selector_headroom.py: {option} val: {args.config} has no val_dataloader; '
                  f'pick another {option}', file=sys.stderr)
            return 2
    fresh_root = osp.abspath(args.fresh_dir) + os.sep
    if fit == 'fresh':
        render_fresh_plates(cfg, fresh_root, args.fresh_tracks)
    model, _ = init_model(cfg, args.checkpoint, device=device)
    if model.selector is None:
        print(f'{args.config}: the model has no selector to judge.', file=sys.stderr)
        return 2

    splits = [fit, args.eval] + (['train'] if args.train_gap and fit != 'train' else [])
    readings = {s: read_split(model, cfg, s, args, fresh_root) for s in splits}
    ev = readings[args.eval]
    scales = ev.scales
    shown = list(range(len(scales)))[::-1]  # largest scale first, as the other reports
    # the tracks on disk: a folder made earlier with other arguments is reused
    names = {'fresh': f"fresh ({_tracks_listed(fresh_root + 'train.txt')} new tracks)"}
    print('Plate accuracy (%) of the student at each scale:')
    print(tabulate([[names.get(s, s), len(r.first)] + [_pct(r.correct[:, k].mean()) for k in shown]
                    for s, r in readings.items()],
                   headers=['images', 'n'] + [f'{scales[k]:g}x' for k in shown],
                   tablefmt='github', disable_numparse=True))

    rows = np.arange(len(ev.first))
    deployed = [hr.judge(ev, 'deployed selector', 'alone', ev.correct[rows, ev.first],
                         ev.cost[ev.first] + ev.selector_cost)]
    reread = model.test_cfg.get('reread') or {}
    if reread:
        r = replay(ev, reread['min_score'], reread['scales'])
        deployed.append(hr.PolicyPoint(
            'deployed selector', f"+ reread (min_score {reread['min_score']:g})",
            r.accuracy, r.relative_flops, hr.oracle_flops_at(ev, round(r.accuracy * len(rows)))))

    teacher = model.costs.teacher_flops
    families = {'smallest scale first + reread': hr.smallest_first_frontier(ev, THRESHOLDS)}
    aucs = {"student's own score": hr.score_aucs(ev)}
    for size, widths in PROBES:
        name = f'probe {size[0]}x{size[1]} ({",".join(map(str, widths))})'
        probe = hr.fit_correctness_probe(readings[fit].thumbs[size], readings[fit].correct,
                                         scales, widths, epochs=args.probe_epochs)
        prob = hr.probe_probabilities(probe, ev.thumbs[size])
        full = torch.zeros(1, ev.thumbs[size].shape[1], *model.base_size)
        cost = count_flops(probe, full) / teacher  # the area resize counted too
        families[name] = hr.probe_frontier(ev, prob, cost, name, THRESHOLDS)
        aucs[name] = hr.probe_aucs(ev, prob)

    print(f'\nHow well each predictor tells a right reading from a wrong one on {args.eval} '
          f'(ROC AUC per scale; probes learned on {names.get(fit, fit)}):')
    print(tabulate([[name] + [f'{v[k]:.3f}' if v[k] == v[k] else '-' for k in shown]
                    for name, v in aucs.items()],
                   headers=['predictor'] + [f'{scales[k]:g}x' for k in shown], tablefmt='github',
                   disable_numparse=True))

    print(f"\nEach policy on {args.eval} against the oracle at its accuracy (FLOPs in % of "
          "the teacher's):")
    table = [_point_row(p) for p in deployed]
    for target in deployed:
        for points in families.values():
            p = hr.cheapest_at_accuracy(points, target.accuracy)
            if p is not None and _point_row(p) not in table:  # one row per point
                table.append(_point_row(p))
    print(tabulate(table, headers=['policy', 'setting', 'plate acc. (%)', 'FLOPs (%)',
                                   'oracle (%)', 'ratio'],
                   tablefmt='github', disable_numparse=True))
    print(f'\nHighest accuracy within {args.max_ratio:g}x the oracle\'s FLOPs:')
    reach = {}
    for name, points in [('deployed selector', deployed)] + list(families.items()):
        best = hr.best_accuracy_within(points, args.max_ratio)
        reach[name] = best.as_dict() if best else None
        print(f'  {name}: ' + (f'{_pct(best.accuracy)} % ({best.setting}, '
                               f'{best.oracle_ratio:.2f}x)' if best else 'none'))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        out = dict(fit=fit, eval=args.eval, scales=scales, max_ratio=args.max_ratio,
                   max_batches=args.max_batches,
                   accuracy_per_scale={s: r.correct.mean(0).tolist() for s, r in readings.items()},
                   num_images={s: len(r.first) for s, r in readings.items()},
                   auc=aucs, deployed=[p.as_dict() for p in deployed],
                   frontiers={k: [p.as_dict() for p in v] for k, v in families.items()},
                   reach=reach)
        write_json_atomic(args.json, out, indent=2, allow_nan=True)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'selector_headroom.py'))
