"""What each part of the quickstart's DLD step does to the student at each scale.

    python benchmarks/quickstart_ablation.py [--work-dir work_dirs/quickstart]
        [--setting efficiency|lr] [--config CFG] [--variants NAME ...] [--redo]

After ``python tools/quickstart.py``, this trains the quickstart's DLD step
again from the same teacher with one change at a time (a single scale, a
lower peak rate, no feature L2, only the selected scale weighted, more
epochs, bfloat16 mixed precision, another seed), reads each student at
every scale on the test split with ``tools/flops_accuracy.py``, and prints
one row per variant with the student's accuracy at 1.0x after its first
epoch (where the drop shows) and at the end, next to the teacher and the
student as built (the teacher's copy, before any DLD step). Runs go to
``WORK_DIR/ablation/<setting>/<variant slug>/``; finished ones are skipped, an interrupted
one resumes.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional

from tabulate import tabulate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's dld
import full_schedule as schedule  # noqa: E402

from benchmarks.script_exit import Refusal, run_script  # noqa: E402
from dld.utils.atomic_file import write_text_atomic  # noqa: E402

REPO = schedule.REPO
CONFIGS = dict(efficiency='configs/quickstart/dld_efficiency.py', lr='configs/quickstart/dld.py')
# name -> the --cfg-options that make the variant (none: the quickstart as shipped)
VARIANTS: Dict[str, List[str]] = {
    'as shipped': [],
    '1.0x only': ['model.scales=(1.0,)'],
    'peak rate 2e-4': ['param_scheduler.0.eta_max=2e-4'],
    'peak rate 1e-4': ['param_scheduler.0.eta_max=1e-4'],
    'no feature L2': ['model.losses.feature=None'],
    'selected scale only': ['model.student_scale_weighting=selected'],
    '5 epochs': schedule.FIVE_EPOCH_CYCLE,
    # tools/train.py --amp on a CPU with native bfloat16, and how far a seed moves a run
    'bfloat16 (--amp)': ['optim_wrapper.type=BF16OptimWrapper'],
    'seed 1': ['randomness.seed=1'],
    'bfloat16, seed 1': ['optim_wrapper.type=BF16OptimWrapper', 'randomness.seed=1'],
}
AS_BUILT = 'as_built.pth'
# epoch_1.pth is read after the run; the runtime keeps only the last three.
KEEP_EVERY_EPOCH = ['default_hooks.checkpoint.max_keep_ckpts=-1']


def quickstart_teacher(w: str, given: str) -> str:
    """The teacher run tools/quickstart.py distilled from, in its work dir
    ``w`` (``given``: as the user wrote it, for messages).

    The quickstart trains ``teacher``, then ``teacher_2``, ... from other
    seeds while one stays under its accuracy gate, and distils from the
    first that passes; only its report names that one (``--teacher-ckpt``,
    ``report/report.json``). Without a report the quickstart has not run to
    its end, and its teacher may still be training: refused (a lone
    ``teacher`` was taken, at epoch 5 of 10, and the results made from it
    were reused once it had finished)."""
    root = osp.join(REPO, w)
    runs = sorted((d for d in (os.listdir(root) if osp.isdir(root) else [])
                   if re.fullmatch(r'teacher(_\d+)?', d) and osp.isdir(osp.join(root, d))),
                  key=lambda d: int(d.partition('_')[2] or 1))
    quickstart = f'`python tools/quickstart.py --work-dir {given}`'
    if not runs:
        raise Refusal(f'{osp.join(given, "teacher")}: no quickstart teacher; run '
                         f'{quickstart} first')
    report = osp.join(root, 'report', 'report.json')
    if osp.exists(report):
        with open(report) as f:
            used = (json.load(f).get('inputs') or {}).get('teacher_checkpoint') or ''
        if osp.basename(osp.dirname(used)) in runs:
            return f'{w}/{osp.basename(osp.dirname(used))}'
    raise Refusal(f'{given}: teacher runs {", ".join(runs)}, but no quickstart report '
                     f'({osp.join(given, "report", "report.json")}) says which one passed its '
                     f'accuracy gate and was distilled from (one may still be training): run '
                     f'{quickstart} to its end first')


def slug(name: str) -> str:
    return ''.join(c if c.isalnum() else '_' for c in name).strip('_')


def save_as_built(config: str, teacher: str, out: str, redo: bool) -> str:
    """The DLD model before any step (the student is the teacher's copy), as
    a checkpoint the report tool reads; written whole or not at all."""
    path = osp.join(REPO, out)
    if osp.exists(path) and not redo:
        return out
    import torch
    from mmengine.config import Config

    import dld.models  # noqa: F401 - registers the models
    from dld.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.teacher_ckpt = osp.join(REPO, teacher)
    model = MODELS.build(cfg.model)
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(note='DLD as built')),
               path + '.tmp')
    os.replace(path + '.tmp', path)
    return out


def report(step: str, config: str, ckpt: str, teacher_ckpt: str, options: List[str],
           out: str, redo: bool, scales: Optional[List[float]] = None) -> Dict[str, float]:
    """Plate accuracy per method of ``tools/flops_accuracy.py`` on ``ckpt``."""
    cmd = ['tools/flops_accuracy.py', config, ckpt, '--teacher-ckpt', teacher_ckpt,
           '--out', out]
    if scales:
        cmd += ['--scales', *(f'{s:g}' for s in scales)]
    if options:
        cmd += ['--cfg-options', *options]
    schedule.run(step, cmd, f'{out}/report.json', redo)
    with open(osp.join(REPO, out, 'report.json')) as f:
        methods = json.load(f)['methods']
    return {m['method']: m for m in methods}


def pct(methods: Dict[str, dict], key: str) -> str:
    return f"{100 * methods[key]['accuracy']:.2f}" if key in methods else '-'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/quickstart',
                        help="the quickstart's work dir (its teacher is reused)")
    parser.add_argument('--setting', choices=sorted(CONFIGS), default='efficiency',
                        help='which quickstart DLD step to vary (default: %(default)s)')
    parser.add_argument('--config', help="the DLD config (default: the setting's quickstart one)")
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS), default=list(VARIANTS),
                        metavar='VARIANT', help='the changes to train, each quoted (default: '
                        'all): ' + '; '.join(f"'{v}'" for v in VARIANTS))
    parser.add_argument('--redo', action='store_true', help='rerun steps already done')
    args = parser.parse_args(argv)
    w, redo = schedule.repo_path(osp.abspath(args.work_dir)), args.redo
    config = args.config or CONFIGS[args.setting]
    teacher = quickstart_teacher(w, args.work_dir)
    if not osp.exists(osp.join(REPO, teacher, 'last_checkpoint')):
        raise Refusal(f'{osp.join(args.work_dir, osp.basename(teacher))}: the quickstart '
                         f'teacher has no checkpoint; run `python tools/quickstart.py '
                         f'--work-dir {args.work_dir}` first')
    print(f'=== distilling from the quickstart teacher {teacher}', flush=True)
    t_ckpt = schedule.checkpoint_of(teacher)
    root = f'{w}/ablation/{args.setting}'

    built = save_as_built(config, teacher, f'{root}/{AS_BUILT}', redo)
    methods = report('student as built', config, built, t_ckpt, [], f'{root}/as_built', redo)
    scales = [m['scale'] for k, m in methods.items() if k.startswith('dld@')]
    headers = ['variant', 'steps', '1.0x after epoch 1',
               *(f'{s:g}x' for s in scales), 'DLD + selector', 'FLOPs saved (%)', 'train min']
    rows = [['teacher', '-', '-', pct(methods, 'teacher_hr'), *['-'] * (len(scales) + 2)],
            ['student as built', 0, '-', *(pct(methods, f'dld@{s:g}') for s in scales),
             '-', '-', '-']]
    for name in args.variants:
        options = VARIANTS[name]
        run_dir = f'{root}/{slug(name)}'
        schedule.train(f'DLD, {name}', ['tools/train.py', config, '--work-dir', run_dir,
                                        '--cfg-options', f'model.teacher_ckpt={teacher}',
                                        *KEEP_EVERY_EPOCH, *options], run_dir, redo)
        first = report(f'{name}: 1.0x after epoch 1', config, f'{run_dir}/epoch_1.pth', t_ckpt,
                       options, f'{run_dir}/report_epoch_1', redo, scales=[1.0])
        ckpt = schedule.checkpoint_of(run_dir)
        final = report(f'{name}: every scale', config, ckpt, t_ckpt, options,
                       f'{run_dir}/report', redo)
        with open(osp.join(REPO, run_dir, schedule.TRAIN_DONE)) as f:
            minutes = json.load(f)['minutes']
        rows.append([name, _iterations(osp.join(REPO, ckpt)), pct(first, 'dld@1'),
                     *(pct(final, f'dld@{s:g}') for s in scales), pct(final, 'dld_selector'),
                     f"{final['dld_selector']['gflops_saved_pct']:.1f}", f'{minutes:.1f}'])
    title = (f'Quickstart DLD ({args.setting} setting) from the quickstart teacher, one change '
             f'at a time: plate accuracy (%) on its test split')
    table = tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True)
    write_text_atomic(osp.join(REPO, root, 'ablation.md'), f'{title}\n{table}\n')
    print(f'\n{title}\n{table}')
    return 0


def _iterations(ckpt: str) -> int:
    """The training iterations the reported checkpoint had done."""
    from dld.engine.checkpoint import load_checkpoint_file
    return int(load_checkpoint_file(ckpt, map_location='cpu')['meta']['iter'])


if __name__ == '__main__':
    sys.exit(run_script(main, 'quickstart_ablation.py', again=schedule.GO_ON))
