"""What the larger oneDNN kernel cache (``import dld``) buys a DLD training step.

    python benchmarks/onednn_cache.py [CONFIG] [--capacities 1024 8192]
        [--steps 20] [--warmup 40] [--repeats 2] [--batch-size 32] [--json OUT]

oneDNN compiles one kernel per convolution, pass and input shape and keeps
``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` of them (1024 unless set). A DLD step
with ``scale_strategy='sampled'`` reads each candidate scale on the images
that drew it, a sub-batch whose size changes every step, so it meets far
more shapes than a plain training step. ``import dld`` sets the capacity to
``dld.ONEDNN_PRIMITIVE_CACHE_CAPACITY`` unless the user set one.

oneDNN reads the capacity once per process, so each capacity runs in its
own process (in turn, ``--repeats`` times, so that machine load hits all
alike): the DLD step of CONFIG (selector trained jointly) on the same real
batches, ``--warmup`` steps and then ``--steps`` timed ones. Prints per
capacity the median seconds per timed step and how many kernels oneDNN
compiled per timed step (``ONEDNN_VERBOSE=profile_create``: a cache that
holds every shape compiles none once the shapes have been met).
"""
import argparse
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.numeric_options import at_least  # noqa: E402
from benchmarks.script_exit import json_file, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402

STEP_MARK = 'DLD_STEP_SECONDS'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default=osp.join(REPO, 'configs/dld_plate.py'),
                   help='DLD config whose training step is timed (default: configs/dld_plate.py)')
    p.add_argument('--capacities', type=at_least(0), nargs='+', default=[1024, 8192],
                   help="oneDNN's cache capacities to compare (1024: oneDNN's default)")
    p.add_argument('--teacher-ckpt', help="teacher weights (default: the config's, if it "
                   'exists; else random weights, which cost the same)')
    p.add_argument('--batch-size', type=at_least(1), default=32,
                   help='training batch (default: %(default)s)')
    p.add_argument('--steps', type=at_least(1), default=20, help='timed steps per process')
    p.add_argument('--warmup', type=at_least(0), default=40,
                   help='untimed steps first: the shapes a run meets early on are '
                   'compiled whatever the capacity, and new sub-batch sizes keep '
                   'turning up for tens of steps')
    p.add_argument('--repeats', type=at_least(1), default=2, help='processes per capacity')
    p.add_argument('--threads', type=at_least(1), help='torch threads (default: torch decides)')
    p.add_argument('--json', type=json_file, help='write the figures here')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _child(args) -> int:
    """One process: the DLD step, a line ``STEP_MARK seconds`` after each."""
    from benchmarks.training_step_cost import _batches, _dld_model, _setup, _step_fn, _teacher_ckpt
    cfg = _setup(args.config, args.threads)
    step = _step_fn(_dld_model(cfg, _teacher_ckpt(cfg, args.teacher_ckpt)))
    batches = _batches(cfg, args.batch_size, args.warmup + args.steps)
    sys.stdout.flush()
    for batch in batches:
        start = time.perf_counter()
        step(batch)
        print(f'{STEP_MARK} {time.perf_counter() - start:.6f}', flush=True)
    return 0


def parse_child_output(text: str, warmup: int) -> dict:
    """Seconds and kernel compilations of each timed step, from a child's
    stdout: oneDNN's ``create:cache_miss`` lines of a step come before its
    ``STEP_MARK`` line."""
    seconds, compiled, misses = [], [], 0
    for line in text.splitlines():
        if line.startswith(STEP_MARK):
            seconds.append(float(line.split()[1]))
            compiled.append(misses)
            misses = 0
        elif 'create:cache_miss' in line:
            misses += 1
    return dict(seconds=seconds[warmup:], compiled=compiled[warmup:])


def _run_child(args, capacity: int) -> dict:
    env = dict(os.environ, ONEDNN_PRIMITIVE_CACHE_CAPACITY=str(capacity),
               ONEDNN_VERBOSE='profile_create')
    cmd = [sys.executable, osp.abspath(__file__), args.config, '--child',
           '--batch-size', str(args.batch_size), '--steps', str(args.steps),
           '--warmup', str(args.warmup)]
    if args.teacher_ckpt:
        cmd += ['--teacher-ckpt', args.teacher_ckpt]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode == 2 and proc.stderr.strip():  # its one-line refusal: the script's own
        print(proc.stderr.rstrip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    if proc.returncode != 0:
        raise RuntimeError(f'the timing process (capacity {capacity}) failed:\n'
                           f'{proc.stderr[-3000:]}')
    return parse_child_output(proc.stdout, args.warmup)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return _child(args)
    import torch
    runs = {c: dict(seconds=[], compiled=[]) for c in args.capacities}
    for r in range(args.repeats):
        for capacity in args.capacities:
            print(f'run {r + 1}/{args.repeats}, capacity {capacity} ...', flush=True)
            out = _run_child(args, capacity)
            runs[capacity]['seconds'] += out['seconds']
            runs[capacity]['compiled'] += out['compiled']
    rows = {c: dict(seconds=statistics.median(v['seconds']),
                    compiled=statistics.mean(v['compiled'])) for c, v in runs.items()}
    ref = rows[args.capacities[0]]['seconds']
    print(f'\nDLD training step (sampled) by oneDNN kernel cache capacity, batch '
          f'{args.batch_size}, {args.repeats} x {args.steps} timed steps after {args.warmup} '
          f'(median), torch {torch.__version__}, '
          f'{args.threads or torch.get_num_threads()} thread(s), '
          f'{platform.processor() or platform.machine()}')
    print(f"{'capacity':>10}{'s / step':>10}{'kernels compiled / step':>25}"
          f"{f'speed-up vs {args.capacities[0]}':>20}")
    for capacity, row in rows.items():
        print(f"{capacity:>10}{row['seconds']:>10.3f}{row['compiled']:>25.1f}"
              f"{ref / row['seconds']:>19.2f}x")
    if args.json:
        write_json_atomic(args.json, dict(
            config=args.config, batch_size=args.batch_size, steps=args.steps,
            warmup=args.warmup, repeats=args.repeats, runs=runs,
            median_seconds={c: r['seconds'] for c, r in rows.items()},
            compiled_per_step={c: r['compiled'] for c, r in rows.items()}), indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'onednn_cache.py'))
