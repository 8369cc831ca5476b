"""The selector stage at several FLOPs penalties (gamma): its operating points.

    python benchmarks/selector_gamma_sweep.py [--work-dir work_dirs/results]
        [--setting lr|efficiency] [--gammas G ...] [--redo]

Gamma trades accuracy for FLOPs, and which trade a user wants depends on the
deployment; one published gamma shows one point of the curve. After
``benchmarks/full_schedule.py`` has trained the setting's last student cycle,
this trains the setting's selector stage once per gamma (the schedule's own
command, plus ``model.losses.selector.gamma``) from that student, reads each
with ``tools/flops_accuracy.py`` on the test split (against the no-KD student
in the LR setting), and prints one row per gamma: the scales chosen, plate
accuracy, mean FLOPs, the same student's fixed scales mixed to the same FLOPs
(what choosing per image adds over choosing the mix), the no-KD student's
accuracy at the same FLOPs (interpolated over its fixed scales, as
``check_targets.py`` does) and the lead over it, and the oracle's FLOPs at
the same accuracy. The config's own gamma reuses the published selector and
report. Writes ``WORK_DIR/gamma_lr.md`` and ``.json`` (``gamma_hr`` for the
efficiency setting); steps already done are skipped.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional

from tabulate import tabulate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's dld
import full_schedule as schedule  # noqa: E402
from check_targets import interpolate  # noqa: E402
from numeric_options import at_least  # noqa: E402

from benchmarks.script_exit import Refusal, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic, write_text_atomic  # noqa: E402

# setting -> the schedule's data config, selector-stage config,
# last student cycle, no-KD student, published selector and report (work-dir
# relative), and the gammas swept by default.
SETTINGS = dict(
    lr=dict(config='configs/dld_plate.py',
            selector_config=schedule.LR_SELECTOR_CONFIG,
            student=f'dld_lr_student_cycle{schedule.LR_STUDENT_CYCLES}',
            baseline=f'nokd_lr_cycle{schedule.LR_STUDENT_CYCLES}',
            baseline_config='configs/student_plate_lr.py',
            selector='dld_lr_selector', report='report_lr',
            gammas=(0.1, 0.2, 0.3, 0.5, 1.0)),
    efficiency=dict(config='configs/dld_plate_hr.py',
                    selector_config=schedule.SELECTOR_CONFIG,
                    student=f'dld_hr_cycle{schedule.STUDENT_CYCLES}', baseline=None,
                    baseline_config=None, selector='dld_hr_selector', report='report_hr',
                    gammas=(0.1, 0.3, 0.5, 1.0)),  # 3-epoch stages: one fewer
)


def config_gamma(config: str) -> float:
    """The FLOPs penalty the selector-stage config trains with."""
    from mmengine.config import Config
    return float(Config.fromfile(osp.join(schedule.REPO, config)).model.losses.selector.gamma)


def chosen_scales(report: dict) -> str:
    """'0.8x 100%' or '0.6x 40%, 0.5x 60%': the share of images sent to each scale
    ('<1%' for a few images, so that no scale used reads as 0 %)."""
    hist = report['scale_histogram']['dld_selector']
    total = sum(hist.values()) or 1

    def share(n: int) -> str:
        pct = 100 * n / total
        return '<1%' if pct < 0.5 else f'{pct:.0f}%'

    return ', '.join(f'{float(s):g}x {share(n)}'
                     for s, n in sorted(hist.items(), key=lambda kv: -float(kv[0])) if n)


def operating_point(gamma: float, report: dict) -> dict:
    """One gamma's figures from its report (fractions; GFLOPs per image)."""
    rows = {r['method']: r for r in report['methods']}
    s, teacher = rows['dld_selector'], rows['teacher_hr']
    oracle = rows.get('oracle_matched')
    nokd = [v for k, v in rows.items() if k.startswith('nokd@')]
    fixed = [(v['gflops'], v['accuracy']) for k, v in rows.items() if k.startswith('dld@')]
    point = dict(gamma=gamma, scales=chosen_scales(report), accuracy=s['accuracy'],
                 teacher_accuracy=teacher['accuracy'],
                 track_accuracy=s.get('track_accuracy'), gflops=s['gflops'],
                 flops_saved=1 - s['gflops'] / teacher['gflops'],
                 oracle_gflops=oracle['gflops'] if oracle else None,
                 nokd_accuracy=None, lead_pt=None,
                 # the same student at fixed scales, mixed at random to the same
                 # FLOPs: what choosing per image adds over choosing the mix
                 fixed_mix_accuracy=interpolate(fixed, s['gflops']) if fixed else None)
    if oracle:
        point['oracle_ratio'] = s['gflops'] / oracle['gflops']
    if nokd:
        base = interpolate([(v['gflops'], v['accuracy']) for v in nokd], s['gflops'])
        point.update(nokd_accuracy=base, lead_pt=100 * (s['accuracy'] - base))
    return point


def _pct(x: Optional[float]) -> str:
    return '-' if x is None else f'{100 * x:.2f}'


def sweep_table(points: List[dict]) -> str:
    rows = [[f"{p['gamma']:g}", p['scales'], _pct(p['accuracy']), f"{p['gflops']:.4f}",
             f"{100 * p['flops_saved']:.1f}", _pct(p['fixed_mix_accuracy']),
             _pct(p['nokd_accuracy']),
             '-' if p['lead_pt'] is None else f"{p['lead_pt']:+.2f}",
             '-' if p['oracle_gflops'] is None else
             f"{p['oracle_gflops']:.4f} ({p['oracle_ratio']:.2f}x)",
             _pct(p['track_accuracy'])]
            for p in sorted(points, key=lambda p: p['gamma'])]
    return tabulate(rows, headers=[
        'gamma', 'scales chosen', 'plate acc. (%)', 'GFLOPs / image', 'saved vs teacher (%)',
        'fixed scales mixed to equal FLOPs (%)', 'no-KD at equal FLOPs (%)', 'lead (pt)',
        'oracle at equal acc. (GFLOPs)', 'track acc. (%)'],
        tablefmt='github', disable_numparse=True)


def runs_read(setting: str, gammas: List[float], published: float) -> List[str]:
    """The schedule's runs the sweep reads (work-dir names): the teacher, the
    last student cycle, the no-KD student, and the published selector when
    its gamma is swept."""
    spec = SETTINGS[setting]
    return ['teacher', spec['student'], *([spec['baseline']] if spec['baseline'] else []),
            *([spec['selector']] if published in gammas else [])]


def sweep(work_dir: str, setting: str, gammas: List[float], redo: bool) -> List[dict]:
    spec, w = SETTINGS[setting], work_dir
    published = config_gamma(spec['selector_config'])
    schedule.require_runs(w, runs_read(setting, gammas, published),
                          f'selector_gamma_sweep.py --setting {setting}')
    teacher = schedule.checkpoint_of(f'{w}/teacher')
    student = schedule.checkpoint_of(f"{w}/{spec['student']}")
    baseline = []
    if spec['baseline']:
        baseline = ['--baseline-ckpt', schedule.checkpoint_of(f"{w}/{spec['baseline']}"),
                    '--baseline-config', spec['baseline_config']]
    points = []
    for gamma in gammas:
        if gamma == published:
            selector, report = f"{w}/{spec['selector']}", f"{w}/{spec['report']}"
        else:
            selector = f'{w}/gamma_{schedule.SETTING_TAGS[setting]}/gamma_{gamma:g}'
            report = f'{selector}/report'
            schedule.train(
                f'selector stage, {setting} setting, gamma {gamma:g}',
                ['tools/train.py', spec['selector_config'], '--work-dir', selector,
                 '--cfg-options', f'model.teacher_ckpt={teacher}', f'load_from={student}',
                 f'model.losses.selector.gamma={gamma:g}'], selector, redo)
        schedule.run(f'report, {setting} setting, gamma {gamma:g}',
                     ['tools/flops_accuracy.py', spec['config'],
                      schedule.checkpoint_of(selector), '--teacher-ckpt', teacher, *baseline,
                      '--out', report], f'{report}/report.json', redo)
        with open(osp.join(schedule.REPO, report, 'report.json')) as f:
            read = json.load(f)
        batches = (read.get('inputs') or {}).get('max_batches')
        if batches is not None:  # titled 'test split', where check_targets.py refused it
            raise Refusal(f'selector_gamma_sweep.py: {report}/report.json reads the first '
                          f'{batches} test batch(es) only (--max-batches), not the test '
                          'split: rerun with --redo, or remove it, to report on the whole')
        points.append(operating_point(gamma, read))
    return points


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/results',
                        help="the full schedule's work dir; a relative one is in the "
                        'repository, where the tools run')
    parser.add_argument('--setting', choices=sorted(SETTINGS), default='lr',
                        help="the full schedule's setting to sweep (default: %(default)s)")
    parser.add_argument('--gammas', type=at_least(0, float), nargs='+',
                        help='default: 0.1 0.2 0.3 0.5 1 (LR), 0.1 0.3 0.5 1 (efficiency)')
    parser.add_argument('--redo', action='store_true', help='rerun steps already done')
    schedule.add_amp_argument(parser)
    args = parser.parse_args(argv)
    schedule.use_amp(args.amp)
    gammas = args.gammas or list(SETTINGS[args.setting]['gammas'])
    points = sweep(args.work_dir, args.setting, gammas, args.redo)
    title = (f'Selector operating points, {args.setting} setting (test split; selector '
             f'stage from {SETTINGS[args.setting]["student"]}, one run per gamma):')
    text = f'{title}\n{sweep_table(points)}\n'
    print('\n' + text, flush=True)
    out = osp.join(schedule.REPO, args.work_dir,
                   f'gamma_{schedule.SETTING_TAGS[args.setting]}')
    write_text_atomic(out + '.md', text)
    write_json_atomic(out + '.json', dict(points=points), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'selector_gamma_sweep.py', again=schedule.GO_ON))
