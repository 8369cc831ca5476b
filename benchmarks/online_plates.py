"""Student-stage cycles on the same plates against plates rendered when read.

    python benchmarks/online_plates.py [--cycles 2] [--arms fixed online]
        [--teacher TEACHER_WORK_DIR] [--work-dir work_dirs/online_plates]

Trains the efficiency setting's student stage from the HR teacher for
``--cycles`` 5-epoch one-cycle runs, each from the last, in two arms:
``fixed`` (configs/dld_plate_hr.py: the 7500 training plates on disk, every
epoch) and ``online`` (configs/dld_plate_hr_online.py: 7500 new plates every
epoch, cycle ``c`` on stream seed ``c``, so no plate is read twice). Then
reads the test split at every scale (tools/flops_accuracy.py) and prints the
student's plate accuracy per scale and cycle for both arms, with each
cycle's training time. Steps already done are skipped, so the two arms can
run as two processes (``--arms fixed`` and ``--arms online``) and a last call
prints the table; the figures are also written to ``WORK_DIR/summary.json``.
The teacher is the full schedule's (work_dirs/results/teacher) where that
is trained; else it is trained first (configs/teacher_plate_hr.py) in
``WORK_DIR/teacher``, or in ``--teacher`` where that has no checkpoint:
it was trained into the full schedule's work dir, outside ``--work-dir``.
"""
import argparse
import os.path as osp
import sys
import time

from tabulate import tabulate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's dld
from full_schedule import (  # noqa: E402
    GO_ON,
    REPO,
    checkpoint_of,
    is_trained,
    read_cycle,
    run,
    train,
)
from numeric_options import at_least  # noqa: E402

from benchmarks.script_exit import run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402

#: The full schedule's teacher, which the arms read where it is trained.
SHARED_TEACHER = 'work_dirs/results/teacher'
ARMS = dict(fixed='configs/dld_plate_hr.py', online='configs/dld_plate_hr_online.py')
SCALES = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)


def cycle_dir(work_dir: str, arm: str, cycle: int) -> str:
    return f'{work_dir}/{arm}_cycle{cycle}'


def train_arm(arm: str, cycles: int, work_dir: str, t_ckpt: str, redo: bool) -> None:
    previous = t_ckpt
    for cycle in range(1, cycles + 1):
        out = cycle_dir(work_dir, arm, cycle)
        options = [f'model.teacher_ckpt={t_ckpt}']
        if cycle > 1:
            options.append(f'load_from={previous}')
        if arm == 'online':
            options.append(f'train_dataloader.dataset.seed={cycle}')
        train(f'{arm} plates, cycle {cycle} of {cycles}',
              ['tools/train.py', ARMS[arm], '--work-dir', out, '--cfg-options', *options],
              out, redo)
        previous = checkpoint_of(out)
        run(f'{arm} plates, cycle {cycle}: every scale on the test split',
            ['tools/flops_accuracy.py', ARMS[arm], previous, '--teacher-ckpt', t_ckpt,
             '--out', f'{out}/report', '--scales', *[f'{s:g}' for s in SCALES]],
            f'{out}/report/report.json', redo)


def summary(work_dir: str, cycles: int) -> list:
    rows = []
    for arm in ARMS:
        for cycle in range(1, cycles + 1):
            methods, minutes = read_cycle(cycle_dir(work_dir, arm, cycle))
            if methods is None:
                continue
            rows.append(dict(arm=arm, cycle=cycle, train_minutes=minutes,
                             accuracy={f'{s:g}': methods[f'dld@{s:g}']
                                       for s in SCALES}))
    return rows


def render_ms_per_item(items: int = 200) -> dict:
    """Milliseconds per online item on this core, HR only and HR + LR."""
    from dld.datasets import OnlineSynthPlateDataset
    out = {}
    for with_lr in (False, True):
        ds = OnlineSynthPlateDataset(num_plates=1, with_lr=with_lr)
        start = time.perf_counter()
        for i in range(items):
            ds.render(i)
        out['hr_lr' if with_lr else 'hr'] = 1e3 * (time.perf_counter() - start) / items
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cycles', type=at_least(1), default=2,
                        help='5-epoch cycles per arm, each from the last (default: %(default)s)')
    parser.add_argument('--arms', nargs='+', choices=sorted(ARMS), default=sorted(ARMS),
                        help='fixed (plates on disk), online (new plates each epoch)')
    parser.add_argument('--teacher', default=None,
                        help="the HR teacher's work dir, trained there when it has none "
                        f'(default: {SHARED_TEACHER}, the full schedule\'s, where it is trained; '
                        'else WORK_DIR/teacher)')
    parser.add_argument('--work-dir', default='work_dirs/online_plates',
                        help='a relative one is in the repository, where the tools run')
    parser.add_argument('--redo', action='store_true', help='rerun steps already done')
    args = parser.parse_args(argv)
    if args.teacher is None:  # a teacher trained for this alone stays in its work dir
        args.teacher = (SHARED_TEACHER if is_trained(SHARED_TEACHER)
                        else f'{args.work_dir}/teacher')
    train('HR teacher', ['tools/train.py', 'configs/teacher_plate_hr.py', '--work-dir',
                         args.teacher], args.teacher, args.redo)
    t_ckpt = checkpoint_of(args.teacher)
    for arm in args.arms:
        train_arm(arm, args.cycles, args.work_dir, t_ckpt, args.redo)
    rows = summary(args.work_dir, args.cycles)
    render = render_ms_per_item()
    write_json_atomic(osp.join(REPO, args.work_dir, 'summary.json'),
                      dict(cycles=rows, render_ms_per_item=render), indent=2)
    table = [[r['arm'], r['cycle'], *(f"{100 * r['accuracy'][f'{s:g}']:.2f}" for s in SCALES),
              '-' if r['train_minutes'] is None else f"{r['train_minutes']:.1f}"]
             for r in rows]
    print('\nStudent plate accuracy (%) on the test split per scale, after each 5-epoch '
          'student-stage cycle (efficiency setting):')
    print(tabulate(table, headers=['plates', 'cycle', *(f'{s:g}x' for s in SCALES),
                                   'train min'], tablefmt='github', disable_numparse=True))
    print(f"Rendering an online item takes {render['hr']:.1f} ms (HR only) and "
          f"{render['hr_lr']:.1f} ms (HR and LR) on one core.")
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'online_plates.py', again=GO_ON))
