"""Print every results target of docs/results.md from the full schedule's outputs.

    python benchmarks/check_targets.py [WORK_DIR]   # default work_dirs/results

Reads ``report_hr/report.json`` (efficiency setting), ``report_lr/report.json``
(LR recovery), ``headroom_hr.json`` and ``headroom_lr.json`` (how close any
selector could come to the oracle), ``gamma_hr.json`` and ``gamma_lr.json``
(each selector's operating points, ``benchmarks/selector_gamma_sweep.py``),
``paired_lead_lr.json`` (``benchmarks/paired_lead.py``), each training seed's
``seed<N>/report_lr/report.json`` (``benchmarks/seed_spread.py``), and, when
``full_schedule.py --setting lr-control`` has run, the recipe control's last
cycle (``control_lr_cycle3/report/report.json``, and paired by image
``paired_teacher_share_lr.json``), ``step_cost.json``
and ``throughput.json`` written by ``benchmarks/full_schedule.py``, prints
one markdown table of targets with the measured figures and whether each is
met, and writes it to ``WORK_DIR/targets.md``. Nothing is typed by hand:
every figure comes from those files. A missing file, or a report without
the rows a target needs, makes that target's row "not measured", naming the
file or rows and the step that writes them; where no file at all is found,
it exits with 1 and writes nothing.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from benchmarks.script_exit import run_script  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: full_schedule.py's work dir when it is given none.
DEFAULT_WORK_DIR = osp.join(REPO, 'work_dirs', 'results')


def _load(path: str) -> Optional[dict]:
    if not osp.exists(path):
        print(f'missing: {path}', file=sys.stderr)
        return None
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not valid JSON ({err}); rerun the step that '
                             'writes it') from err


def quick_look(report: Optional[dict], path: str) -> Optional[dict]:
    """``report`` unless ``flops_accuracy.py --max-batches`` wrote it: the first
    batches of the test split, a quick look that no target is judged on
    (one of 16 images was called met). Said on stderr; None then, so its
    targets are "not measured"."""
    # a report's under its inputs, paired_lead.py's JSON at its top
    batches = (report or {}).get('max_batches', ((report or {}).get('inputs') or {}).get(
        'max_batches'))
    if not report or batches is None:
        return report
    images = f" ({report['num_images']} images)" if report.get('num_images') else ''
    print(f'{path}: a quick look over the first {batches} test batch(es){images}, '
          '--max-batches: not judged; rerun its step without --max-batches', file=sys.stderr)
    return None


def _rows(report: dict) -> Dict[str, dict]:
    return {r['method']: r for r in report.get('methods', [])}


def _lacking(rows: Dict[str, dict], *methods: str) -> Optional[str]:
    """'not measured: ...' naming the methods a (partial or older) report
    has no row for, or None when it has them all."""
    missing = [m for m in methods if m not in rows]
    return (f"not measured: the report has no {', '.join(missing)} row (rerun the step "
            'that writes it)') if missing else None


def interpolate(points: List[tuple], x: float) -> float:
    """Piecewise-linear y at x over (x, y) points, clamped at the ends."""
    pts = sorted(points)
    if x <= pts[0][0]:
        return pts[0][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else max(y0, y1)
    return pts[-1][1]


def interpolation_weights(points: List[tuple], x: float) -> Dict[int, float]:
    """The weights of ``points`` (by their index) whose weighted ``y`` is
    :func:`interpolate`'s at ``x``: one point at a clamped end, two around
    ``x`` (the larger ``y`` of two at one ``x``, as ``interpolate`` takes)."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    pts = [points[i] for i in order]
    if x <= pts[0][0]:
        return {order[0]: 1.0}
    for k, ((x0, y0), (x1, y1)) in enumerate(zip(pts, pts[1:])):
        if x <= x1:
            if x1 > x0:
                w = (x - x0) / (x1 - x0)
                return {order[k]: 1.0 - w, order[k + 1]: w}
            return {order[k] if y0 >= y1 else order[k + 1]: 1.0}
    return {order[-1]: 1.0}


#: The verdicts of a target judged with its interval (``verdict``).
CLEAR, ESTIMATE = 'clear', 'estimate'


def _per_image(rep: dict) -> Optional[dict]:
    from dld.evaluation.per_image import read_block
    return read_block(rep)


def _bits(block: dict, rows: Dict[str, dict], method: str):
    """Row ``method``'s outcomes per image (a float array, NaN where not
    read), or None where the report keeps none or they do not give the
    row's accuracy (a hand-edited report)."""
    import numpy as np
    right = (block or {}).get('right', {}).get(method)
    if right is None:
        return None
    bits = np.asarray([np.nan if c == '-' else float(c == '1') for c in right])
    read = bits[~np.isnan(bits)]
    acc = rows.get(method, {}).get('accuracy')
    if not len(read) or acc is None or abs(read.mean() - acc) > 1e-9:
        return None
    return bits


def interval_of(block: dict, rows: Dict[str, dict], weights_a: Dict[str, float],
                weights_b: Dict[str, float]) -> Tuple[Optional[dict], str]:
    """The paired difference (a fraction) of two weighted sums of rows,
    image by image (``{'dld_selector': 1}`` minus ``{'nokd@1': 0.4,
    'nokd@0.6': 0.6}``: the no-KD student interpolated at its FLOPs), with
    its 95 % interval from a bootstrap over tracks; None and why not where
    the report does not allow it."""
    import numpy as np
    if block is None:
        return None, ('no interval: the report keeps no per-image results (a report older '
                      'than them: rerun tools/flops_accuracy.py)')
    sides = []
    for weights in (weights_a, weights_b):
        parts = {m: _bits(block, rows, m) for m in weights}
        lacking = [m for m, b in parts.items() if b is None]
        if lacking:
            return None, f'no interval: the report keeps no per-image results of {lacking[0]}'
        sides.append(sum(w * parts[m] for m, w in weights.items()))
    a, b = sides
    if np.isnan(a).any() or np.isnan(b).any():
        return None, ('no interval: a row read only some of the images (Teacher on HR '
                      'without HR frames for every track)')
    from dld.evaluation.paired_bootstrap import paired_difference
    return paired_difference(a, b, block['tracks']), ''


def judge(estimate_ok: bool, low: Optional[float], bar: float):
    """``CLEAR`` where the interval's low end is at or above ``bar``,
    ``ESTIMATE`` where only the estimate is, False where not met; True
    (met, no interval) where ``low`` is None."""
    if not estimate_ok:
        return False
    if low is None:
        return True
    return CLEAR if low >= bar - 1e-12 else ESTIMATE


def _interval_text(found: Optional[dict], why: str, sign: float = 1.0, brackets: bool = True
                   ) -> str:
    """The interval of ``found`` in points (``sign`` -1: of the opposite
    difference, a drop), or why there is none."""
    if found is None:
        text = why
    else:
        # + 0.0: no '-0.00' for an interval of 0 to 0 turned into a drop
        low, high = sorted((sign * found['low'] + 0.0, sign * found['high'] + 0.0))
        text = (f"95% interval {100 * low:+.2f} to {100 * high:+.2f} pt over "
                f"{found['groups']} tracks")
    return f' ({text})' if brackets else f', {text}'


DEPLOYED = (('dld_selector', 'oracle_matched', 'DLD+selector'),
            ('dld_reread', 'oracle_matched_reread', 'DLD+selector+reread'))


EFFICIENCY = ('1. efficiency (student reads down-sampled HR)',
              'acc >= teacher - 0.5 pt at <= 30% FLOPs')
LR_LEAD = ('2. LR recovery, DLD+selector vs no-KD at equal FLOPs', '>= +5 pt')
ORACLE = ('3. DLD+selector vs oracle ({})', "FLOPs <= 1.15x the oracle's at equal acc.")


def efficiency(rep: dict) -> List[list]:
    """One row per deployed method: the selector alone, and with the reread cascade."""
    r = _rows(rep)
    lacking = _lacking(r, 'teacher_hr', 'dld_selector')
    if lacking:
        return [[*EFFICIENCY, lacking, False]]
    t = r['teacher_hr']
    fixed = [(k, v) for k, v in r.items() if k.startswith('dld@')]
    best_fixed = min((v for _, v in fixed if v['accuracy'] >= t['accuracy'] - 0.005),
                     key=lambda v: v['gflops'], default=None)
    note = ('cheapest fixed scale within 0.5 pt: ' + (
        f"{best_fixed['scale']:g} ({100 * best_fixed['gflops'] / t['gflops']:.1f}% FLOPs)"
        if best_fixed else 'none'))
    out = []
    block = _per_image(rep)
    for method, _, label in DEPLOYED:
        if method not in r:
            continue
        s = r[method]
        rel = s['gflops'] / t['gflops']
        drop = 100 * (t['accuracy'] - s['accuracy'])
        # the accuracy's part judged with its interval; the FLOPs' as they are
        found, why = interval_of(block, r, {method: 1.0}, {'teacher_hr': 1.0})
        ok = judge(s['accuracy'] >= t['accuracy'] - 0.005,
                   None if found is None else found['low'], -0.005) if rel <= 0.30 else False
        out.append([f'1. efficiency, {label} (student reads down-sampled HR)',
                    'acc >= teacher - 0.5 pt at <= 30% FLOPs',
                    f"teacher {100 * t['accuracy']:.2f}%; {label} {100 * s['accuracy']:.2f}% "
                    f"({drop:+.2f} pt drop{_interval_text(found, why, -1, False)}) at "
                    f"{100 * rel:.1f}% "
                    f"FLOPs; {note}", ok])
    return out


def selector_quality(rep: dict, setting: str) -> List[list]:
    r = _rows(rep)
    lacking = _lacking(r, 'dld_selector')
    if lacking:
        return [[ORACLE[0].format(setting), ORACLE[1], lacking, False]]
    out = []
    for method, oracle, label in DEPLOYED:
        if method not in r:
            continue
        s, o = r[method], r.get(oracle)
        name = f'3. {label} vs oracle ({setting})'
        if o is None:
            out.append([name, 'FLOPs <= 1.15x oracle',
                        f'not measured: the report has no {oracle} row (an older report; '
                        'rerun tools/flops_accuracy.py)', False])
            continue
        evaluated, candidates = rep.get('scales'), rep.get('candidate_scales')
        if evaluated and candidates and set(evaluated) != set(candidates):
            # That oracle could not choose every scale the selector could,
            # or could choose one the selector cannot.
            out.append([name, 'FLOPs <= 1.15x oracle',
                        f"not measured: the report read scales {evaluated}, the selector's "
                        f"candidates are {candidates} (rerun flops_accuracy without "
                        '--scales)', False])
            continue
        sel_student = s['gflops'] - rep['selector_gflops']
        ratio = s['gflops'] / o['gflops']
        out.append([name, ORACLE[1],
                    f"{s['gflops']:.4f} GFLOPs ({sel_student:.4f} student + "
                    f"{rep['selector_gflops']:.5f} selector) vs oracle {o['gflops']:.4f} at "
                    f"{100 * o['accuracy']:.2f}%: {ratio:.2f}x", ratio <= 1.15])
    return out


def selector_headroom(head: dict, setting: str) -> List[list]:
    """Reported with target 3: what the selector's input allows (no verdict)."""
    reach = ', '.join(f"{name} {100 * p['accuracy']:.2f}%" if p else f'{name} none'
                      for name, p in head['reach'].items())
    return [[f"3. headroom, {setting}: highest accuracy within {head['max_ratio']:g}x the "
             f"oracle ({head['eval']} split)", 'reported', reach, None]]


def lead_lacking(rep: dict) -> Optional[str]:
    """What a report lacks for the selector's lead at equal FLOPs (its
    selector row, its no-KD rows), or None."""
    r = _rows(rep)
    if not any(k.startswith('nokd@') for k in r):
        return 'not measured: the report has no no-KD rows (its --baseline-ckpt)'
    return _lacking(r, 'dld_selector')


def selector_lead(rep: dict) -> Tuple[float, float]:
    """The no-KD student's accuracy interpolated at the DLD selector's mean
    FLOPs, and the selector's lead over it in points (see ``lead_lacking``
    first)."""
    r = _rows(rep)
    nokd = [(v['gflops'], v['accuracy']) for k, v in r.items() if k.startswith('nokd@')]
    s = r['dld_selector']
    base_at = interpolate(nokd, s['gflops'])
    return base_at, 100 * (s['accuracy'] - base_at)


def seed_leads(reports: Dict[str, dict]) -> List[list]:
    """Reported with target 2: its lead at equal FLOPs for each training seed
    whose report is on disk (``benchmarks/seed_spread.py``); a report without
    the rows it needs is named, not counted."""
    lacking = {name: lead_lacking(rep) for name, rep in reports.items()}
    gains = {name: selector_lead(rep)[1] for name, rep in reports.items() if not lacking[name]}
    met = sum(g >= 5.0 for g in gains.values())
    return [['2. LR recovery, DLD+selector vs no-KD at equal FLOPs, per training seed',
             'reported', ', '.join(f'{name}: {gains[name]:+.2f} pt' if name in gains else
                                   f'{name}: {lacking[name]}' for name in reports)
             + f' (>= +5 pt in {met} of {len(gains)})', None]]


def lr_recovery(rep: dict) -> List[list]:
    r = _rows(rep)
    nokd = [v for k, v in r.items() if k.startswith('nokd@')]
    dld = {v['scale']: v for k, v in r.items() if k.startswith('dld@')}
    if not nokd:
        return [[*LR_LEAD, lead_lacking(rep), False]]
    block = _per_image(rep)
    per_scale = []
    for v in sorted(nokd, key=lambda v: -v['scale']):
        d = dld.get(v['scale'])
        if d is not None:
            found, why = interval_of(block, r, {d['method']: 1.0}, {v['method']: 1.0})
            per_scale.append((v['scale'], 100 * (d['accuracy'] - v['accuracy']), found, why))
    lacking = lead_lacking(rep)
    if lacking:
        out = [[*LR_LEAD, lacking, False]]
    else:
        s = r['dld_selector']
        base_at, gain = selector_lead(rep)
        nokd_rows = [k for k in r if k.startswith('nokd@')]
        weights = interpolation_weights([(r[k]['gflops'], r[k]['accuracy']) for k in nokd_rows],
                                        s['gflops'])
        found, why = interval_of(block, r, {'dld_selector': 1.0},
                                 {nokd_rows[i]: w for i, w in weights.items()})
        out = [[*LR_LEAD, f"{100 * s['accuracy']:.2f}% vs {100 * base_at:.2f}% (no-KD "
                f"interpolated at {s['gflops']:.4f} GFLOPs): {gain:+.2f} pt"
                + _interval_text(found, why),
                judge(gain >= 5.0, None if found is None else found['low'], 0.05)]]
    lows = [None if f is None else f['low'] for _, _, f, _ in per_scale]
    out.append(['2. LR recovery, DLD student vs no-KD per fixed scale', '>= +5 pt',
                ', '.join(f'{sc:g}: {g:+.2f}' + ('' if f is None else
                                                 f" [{100 * f['low']:+.2f}, "
                                                 f"{100 * f['high']:+.2f}]")
                          for sc, g, f, _ in per_scale)
                + (f' ({per_scale[0][3]})' if per_scale and None in lows else
                   ' (95% intervals over tracks)' if per_scale else '')
                if per_scale else
                "not measured: the report has no dld@ rows at the no-KD student's scales",
                bool(per_scale) and judge(all(g >= 5.0 for _, g, _, _ in per_scale),
                                          None if None in lows else min(lows), 0.05)])
    if not lacking and s.get('track_accuracy') is not None:
        base_track = interpolate([(v['gflops'], v['track_accuracy']) for v in nokd],
                                 s['gflops'])
        out.append(['2. track voting over each track\'s frames (reported)', 'reported',
                    f"DLD+selector {100 * s['track_accuracy']:.2f}% per track "
                    f"({100 * (s['track_accuracy'] - s['accuracy']):+.2f} pt over per frame); "
                    f'no-KD {100 * base_track:.2f}% (interpolated at the same GFLOPs)', None])
    return out


def paired_lead(lead: dict, what: str = 'lead') -> List[list]:
    """Reported with target 2: the lead per fixed scale with its paired 95 % interval."""
    return [[f'2. LR recovery, {what} per fixed scale, 95% interval paired over tracks',
             'reported', ', '.join(f"{r['scale']:g}: {r['lead']:+.2f} [{r['low']:+.2f}, "
                                   f"{r['high']:+.2f}]" for r in lead['rows']), None]]


CONTROL_REPORT = 'control_lr_cycle3/report/report.json'
TEACHER_SHARE = 'paired_teacher_share_lr.json'  # the same, paired by image


def teacher_share(rep: dict, control: dict) -> List[list]:
    """Reported with target 2: what the teacher's losses add, per fixed scale,
    over the same DLD recipe without them (the recipe control)."""
    def dld(report):
        return {v['scale']: v['accuracy'] for k, v in _rows(report).items()
                if k.startswith('dld@')}
    with_teacher, without = dld(rep), dld(control)
    return [["2. LR recovery, the teacher's share: DLD student vs its recipe without the "
             "teacher's losses, per fixed scale", 'reported',
             ', '.join(f'{sc:g}: {100 * (with_teacher[sc] - without[sc]):+.2f}'
                       for sc in sorted(with_teacher, reverse=True) if sc in without), None]]


def operating_points(sweep: dict, setting: str) -> List[list]:
    """Reported with targets 1 to 3: each selector gamma's accuracy, FLOPs, lead
    over the no-KD student (LR setting) and FLOPs against the oracle's
    (``benchmarks/selector_gamma_sweep.py``)."""
    def figures(p: dict) -> str:
        lead = '' if p.get('lead_pt') is None else f", {p['lead_pt']:+.2f} pt over no-KD"
        oracle = '' if p.get('oracle_ratio') is None else f", {p['oracle_ratio']:.2f}x oracle"
        return (f"gamma {p['gamma']:g}: {100 * p['accuracy']:.2f}% at "
                f"{100 * (1 - p['flops_saved']):.1f}% FLOPs{lead}{oracle}")

    points = sorted(sweep['points'], key=lambda p: p['gamma'])
    return [[f'selector operating points ({setting})', 'reported',
             '; '.join(figures(p) for p in points), None]]


def _threads(count) -> str:
    return f"{count} thread{'' if count == 1 else 's'}"


#: what platform.machine() or processor() names a CPU (lower case), and 'cpu'
CPU_ARCHITECTURES = ('cpu', 'x86_64', 'amd64', 'i386', 'i686', 'aarch64', 'arm64', 'armv7l',
                     'ppc64le', 's390x', 'riscv64', '')


def step_cost(step: dict) -> List[list]:
    """Target 4, the training step (``benchmarks/training_step_cost.py``)."""
    # 'device' was the processor before it was the device: a CPU's architecture
    # or a GPU's name
    device = str(step.get('device', 'cpu'))
    old_gpu = 'processor' not in step and device.lower() not in CPU_ARCHITECTURES
    on = (f"{step.get('processor') or device}" if device.startswith('cuda') or old_gpu
          else _threads(step['threads']))
    setup = f"batch {step['batch_size']}, {on}"
    config = step.get('config')
    if config and osp.normpath(config).replace(osp.sep, '/').split('/')[-2:] != [
            'configs', 'dld_plate.py']:  # the target is judged on configs/dld_plate.py
        setup += f', {config}'
    # Two readings of "a student-only step": the student trained alone on
    # the same input at the same size, and the no-KD recipe's step (one
    # random, mostly smaller, scale). Both are judged and shown.
    return [['4. training step, DLD sampled / student step (same input, 1.0)',
             '<= 2.5x', f"{step['ratio_vs_student_1_0']:.2f}x, {setup}",
             step['ratio_vs_student_1_0'] <= 2.5],
            ['4. training step, DLD sampled / no-KD recipe step (random scale)',
             '<= 2.5x', f"{step['ratio_vs_nokd_recipe']:.2f}x, {setup}",
             step['ratio_vs_nokd_recipe'] <= 2.5]]


def throughput(thr: dict) -> List[list]:
    """Target 4, the selector's share of the FLOPs, and the throughput
    (``benchmarks/inference_throughput.py``)."""
    out = []
    rows = thr['rows']
    students = [r for r in rows if r['name'].startswith('student')]
    dld = next((r for r in rows if r['name'] == 'DLD + selector'), None)
    if dld is not None:
        worst = max(r['selector_share_pct'] for r in students)
        out.append(['4. selector share of inference FLOPs', '<= 3%',
                    f"{dld['selector_share_pct']:.2f}% of DLD's mean cost; {worst:.2f}% at "
                    'the cheapest scale', worst <= 3.0])
    device = str(thr.get('device', 'cpu'))  # the file says where it was timed
    where = 'CPU' if device == 'cpu' else device
    out.append([f"4. {where} throughput, batch {thr['batch_size']} ({_threads(thr['threads'])})",
                'reported', ', '.join(f"{r['name']}: {r['images_per_s']:.0f}"
                                      for r in rows) + ' images/s', None])
    return out


SCHEDULE = '`python benchmarks/full_schedule.py'
ANALYSIS = ' (not with --skip-analyses)'
# Each input of the table: the step of the full schedule that writes it.
MADE_BY = {
    'report_hr/report.json': f'step 5/8 of {SCHEDULE} --setting efficiency` writes it',
    'report_lr/report.json': f'step 6/8 of {SCHEDULE} --setting lr` writes it',
    'paired_lead_lr.json': f'step 6c/8 of {SCHEDULE} --setting lr` writes it',
    'gamma_hr.json': f'step 5b/8 of {SCHEDULE} --setting efficiency` writes it{ANALYSIS}',
    'gamma_lr.json': f'step 6b/8 of {SCHEDULE} --setting lr` writes it{ANALYSIS}',
    'headroom_hr.json': f'step 5a/8 of {SCHEDULE} --setting efficiency` writes it{ANALYSIS}',
    'headroom_lr.json': f'step 6a/8 of {SCHEDULE} --setting lr` writes it{ANALYSIS}',
    'step_cost.json': f'step 7/8 of {SCHEDULE}` writes it, after both settings',
    'throughput.json': f'step 8/8 of {SCHEDULE}` writes it, after both settings',
}


def not_measured(work: str, name: str, *targets: Tuple[str, str, bool]) -> List[list]:
    """A row for each ``(target, goal, judged)`` that the input ``name`` (of
    ``MADE_BY``) would have given where it is missing from ``work`` (naming
    the file and the step that writes it) or a quick look (``--max-batches``:
    saying so)."""
    # the schedule's command for this work dir: it writes the default one otherwise
    elsewhere = '' if osp.abspath(work) == DEFAULT_WORK_DIR else f' (with --work-dir {work})'
    path = osp.join(work, name)
    why = (f'not measured: {path} reads the first test batches only (--max-batches); '
           'rerun its step without it' if osp.exists(path) else
           f'not measured: no {path}; {MADE_BY[name]}{elsewhere}')
    return [[target, goal, why, False if judged else None] for target, goal, judged in targets]


def judged(work: str, found: Dict[str, Optional[dict]], name: str, judge,
           *targets: Tuple[str, str, bool]) -> List[list]:
    """``judge``'s rows from the input ``name`` when it was found, else its
    ``targets`` as not measured."""
    data = found[name]
    return judge(data) if data is not None else not_measured(work, name, *targets)


def training_seeds(work: str) -> List[int]:
    """The seeds of ``benchmarks/seed_spread.py``'s runs in ``work``
    (its ``seed<N>/`` folders), in order."""
    found = [re.fullmatch(r'seed(\d+)', d) for d in (os.listdir(work) if osp.isdir(work) else [])]
    return sorted(int(m.group(1)) for m in found if m)


def seed_reports(work: str) -> Dict[str, dict]:
    """``{'seed N': report}`` for each ``seed<N>/report_lr`` in ``work``."""
    paths = {n: osp.join(work, f'seed{n}', 'report_lr', 'report.json')
             for n in training_seeds(work)}
    loaded = {f'seed {n}': quick_look(_load(p), p) for n, p in paths.items()
              if osp.exists(p)}
    return {name: rep for name, rep in loaded.items() if rep is not None}


def verdict(measured: str, ok) -> str:
    """The verdict column: a target not measured is not called missed; one
    judged with its 95 % interval (a report with per-image results) is
    "met, interval clear" where the interval's low end is at or above the
    bar, "met on the estimate only" where the estimate is and the interval
    reaches below it; "met" is a target judged without an interval (a
    FLOPs ratio, a time, or a report without per-image results)."""
    if measured.startswith('not measured'):
        return 'not measured'
    if ok == CLEAR:
        return 'met, interval clear'
    if ok == ESTIMATE:
        return 'met on the estimate only'
    return '-' if ok is None else ('met' if ok else 'NOT met')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='Judge the targets of docs/results.md from the full schedule\'s outputs.')
    parser.add_argument('work_dir', nargs='?', default='work_dirs/results',
                        help="the schedule's work dir (default: work_dirs/results); a relative "
                        'one is in the repository, as full_schedule.py reads it')
    given = parser.parse_args(argv).work_dir
    work = osp.join(REPO, given)  # an absolute path stays as it is
    if not osp.isdir(work):
        parser.error(f'{work}: no such directory; run benchmarks/full_schedule.py first')
    found = {name: _load(osp.join(work, name)) for name in MADE_BY}
    found.update({name: quick_look(found[name], osp.join(work, name)) for name in found
                  if name.endswith('report.json') or name.startswith('paired_lead')})
    rep_lr = found['report_lr/report.json']
    rows = judged(work, found, 'report_hr/report.json', efficiency, (*EFFICIENCY, True))
    rows += judged(work, found, 'report_lr/report.json', lr_recovery, (*LR_LEAD, True))
    rows += judged(work, found, 'paired_lead_lr.json', paired_lead,
                   ('2. LR recovery, lead per fixed scale, 95% interval paired over tracks',
                    'reported', False))
    seeds = seed_reports(work)
    if seeds:  # optional: written by seed_spread.py, not by the schedule
        rows += seed_leads({**({'published': rep_lr} if rep_lr else {}), **seeds})
    control = osp.join(work, CONTROL_REPORT)
    control_rep = quick_look(_load(control), control) if osp.exists(control) else None
    if rep_lr and control_rep:  # optional: not in "all"
        rows += teacher_share(rep_lr, control_rep)
    share = osp.join(work, TEACHER_SHARE)
    share_rep = quick_look(_load(share), share) if osp.exists(share) else None
    if share_rep:
        rows += paired_lead(share_rep, "the teacher's share")
    for tag, setting in (('hr', 'efficiency setting'), ('lr', 'LR setting')):
        rows += judged(work, found, f'gamma_{tag}.json',
                       lambda sweep, s=setting: operating_points(sweep, s),
                       (f'selector operating points ({setting})', 'reported', False))
    for tag, setting in (('hr', 'efficiency setting'), ('lr', 'LR setting')):
        rows += judged(work, found, f'report_{tag}/report.json',
                       lambda rep, s=setting: selector_quality(rep, s),
                       (ORACLE[0].format(setting), ORACLE[1], True))
        rows += judged(work, found, f'headroom_{tag}.json',
                       lambda head, s=setting: selector_headroom(head, s),
                       (f'3. headroom, {setting}', 'reported', False))
    rows += judged(work, found, 'step_cost.json', step_cost,
                   ('4. training step, DLD sampled / student-only step', '<= 2.5x', True))
    rows += judged(work, found, 'throughput.json', throughput,
                   ('4. selector share of inference FLOPs', '<= 3%', True),
                   ('4. CPU throughput', 'reported', False))
    from tabulate import tabulate
    table = tabulate([[a, b, c, verdict(c, ok)] for a, b, c, ok in rows],
                     headers=['target', 'goal', 'measured', 'verdict'], tablefmt='github')
    print(table)
    if not any(found.values()) and not seeds:
        quickstart = osp.join(work, 'report', 'report.md')
        if osp.isfile(quickstart):  # the quickstart's work dir: no schedule belongs there
            print(f'nothing measured: {work} is a quickstart\'s work dir (tools/quickstart.py); '
                  'the targets are judged on the full schedule\'s outputs (`python '
                  f'benchmarks/full_schedule.py`, hours); the quickstart\'s own report is '
                  f'{quickstart}', file=sys.stderr)
            return 1
        print(f'nothing measured: {work} holds none of the files above; run '
              f'`python benchmarks/full_schedule.py --work-dir {work}` first', file=sys.stderr)
        return 1
    from dld.utils.atomic_file import write_text_atomic
    write_text_atomic(osp.join(work, 'targets.md'), table + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'check_targets.py'))
