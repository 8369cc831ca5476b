"""Whether bfloat16 pays on this CPU: the recogniser's backbone both ways.

    python benchmarks/cpu_bf16_kernels.py [CONFIG] [--batch-size 64]
        [--rounds 5] [--threads N]

``--amp`` trains and reads in bfloat16 only where
``dld.utils.cpu_has_native_bf16()`` says the CPU computes it natively
(AVX512-BF16 or AMX). oneDNN also runs bfloat16 on AVX-512 CPUs without
those instructions, emulated. This script times the config's backbone (its
convolutions are most of a forward) at the base input size in float32 and
under bfloat16 autocast, random weights, and prints both with the CPU's
answer. ``ONEDNN_MAX_CPU_ISA=AVX512_CORE`` before it shows what an AVX-512
CPU without BF16 would see.
"""
import argparse
import contextlib
import os
import os.path as osp
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.numeric_options import at_least  # noqa: E402
from benchmarks.script_exit import run_script  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default=osp.join(REPO, 'configs/teacher_plate_hr.py'),
                   help='config whose backbone is timed (default: configs/teacher_plate_hr.py)')
    p.add_argument('--batch-size', type=at_least(1), default=64,
                   help='images per forward (default: %(default)s)')
    p.add_argument('--height', type=at_least(1), default=48,
                   help='input height in pixels (default: %(default)s)')
    p.add_argument('--width', type=at_least(1), default=144,
                   help='input width in pixels (default: %(default)s)')
    p.add_argument('--rounds', type=at_least(1), default=5,
                   help='timed forwards of each precision, median printed (default: %(default)s)')
    p.add_argument('--threads', type=at_least(1), help='torch threads (default: torch decides)')
    return p.parse_args(argv)


def time_forward(module, x, context, rounds: int) -> float:
    """Median seconds of one forward of ``module`` on ``x`` inside ``context``."""
    import torch
    times = []
    with torch.no_grad():
        for i in range(rounds + 1):  # the first builds oneDNN's kernels
            with context():
                start = time.perf_counter()
                module(x)
                if i:
                    times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch
    from mmengine.registry import init_default_scope

    import dld  # noqa: F401  (registers modules)
    from dld.registry import MODELS
    from dld.utils import cpu_has_native_bf16, read_config
    from dld.utils.shown_paths import below
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    init_default_scope('dld')
    model_cfg = read_config(args.config).model
    # a DLD config: its student's backbone (the one that reads at every scale)
    backbone = MODELS.build(model_cfg.get('student', model_cfg)).backbone.eval()
    x = torch.randn(args.batch_size, 3, args.height, args.width)
    fp32 = time_forward(backbone, x, contextlib.nullcontext, args.rounds)
    bf16 = time_forward(backbone, x,
                        lambda: torch.autocast('cpu', dtype=torch.bfloat16), args.rounds)
    native = cpu_has_native_bf16()
    cap = os.environ.get('ONEDNN_MAX_CPU_ISA', 'not set')
    print(f'CPU: {torch.backends.cpu.get_cpu_capability()} kernels, ONEDNN_MAX_CPU_ISA '
          f'{cap}, {torch.get_num_threads()} thread(s); native bfloat16: {native} '
          f'(--amp {"reads in bfloat16" if native else "stays float32"})')
    print(f'backbone of {below(args.config, REPO)}, batch {args.batch_size} at '
          f'{args.height}x{args.width}: float32 {fp32 * 1e3:.1f} ms, bfloat16 {bf16 * 1e3:.1f} '
          f'ms, bfloat16 {fp32 / bf16:.2f}x as fast')
    return dict(native_bf16=native, onednn_max_cpu_isa=cap, fp32_s=fp32, bf16_s=bf16)


if __name__ == '__main__':
    sys.exit(run_script(main, 'cpu_bf16_kernels.py'))
