"""Reading plates in float32 and in mixed precision, the same images, in turn.

    python benchmarks/mixed_precision_inference.py CONFIG CKPT LABEL_FILE
        [--scales 1.0 0.8 ...] [--batch-size 64] [--rounds 2] [--threads N]
        [--json OUT]

``tools/infer.py --amp`` (``PlateRecognizer(amp=True)``) reads in bfloat16 on
a CPU with AVX512-BF16 or AMX and in float16 on CUDA. For each fixed scale of
the config and for the selector's choice, this script reads every image of
LABEL_FILE both ways, ``--rounds`` times alternating after one untimed
round (which warms the file cache and the kernels for both), and prints plate
accuracy both ways, how many readings (text and chosen scale) agree, and
images/s (median round; loading and preprocessing included, as a user of
infer.py sees it). On a machine where mixed precision is not faster the
script says so and stops: ``--amp`` would read in float32 there.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.numeric_options import at_least, positive  # noqa: E402
from benchmarks.script_exit import json_file, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help="the model's config (DLD or recogniser)")
    p.add_argument('checkpoint', help="the model's trained weights")
    p.add_argument('labels', help='a label file (its frames of the stream the student reads)')
    p.add_argument('--scales', type=positive, nargs='+',
                   help="fixed scales to read at (default: the config's)")
    p.add_argument('--batch-size', type=at_least(1), default=64,
                   help='images per batch (default: %(default)s)')
    p.add_argument('--rounds', type=at_least(1), default=2,
                   help='timed rounds of each precision after one untimed (default: %(default)s)')
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (default: %(default)s)")
    p.add_argument('--threads', type=at_least(1), help='torch threads (default: torch decides)')
    p.add_argument('--json', type=json_file, help='write the figures here')
    return p.parse_args(argv)


def _accuracy(records) -> float:
    return 100.0 * sum(r['text'] == r.get('gt_text') for r in records) / len(records)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from tabulate import tabulate

    from dld.apis import PlateRecognizer
    if args.threads:
        torch.set_num_threads(args.threads)
    readers = {amp: PlateRecognizer(args.config, args.checkpoint, device=args.device,
                                    batch_size=args.batch_size, amp=amp)
               for amp in (False, True)}
    dtype = readers[True].amp_dtype
    if dtype is None:
        print('Mixed precision is not faster on this machine (no CUDA, no native bfloat16): '
              'nothing to compare.')
        return 1
    scales = args.scales or list(getattr(readers[False].model, 'scales', [1.0]))
    rows = []
    for scale in [*scales, None]:
        records, seconds = {}, {False: [], True: []}
        for round_ in range(args.rounds + 1):
            for amp, reader in readers.items():
                start = time.perf_counter()
                records[amp] = reader([args.labels], scale=scale)['predictions']
                if round_:  # the first round warms the file cache and kernels for both
                    seconds[amp].append(time.perf_counter() - start)
        ref, got = records[False], records[True]
        n = len(ref)
        same = sum((a['text'], a['scale']) == (b['text'], b['scale']) for a, b in zip(ref, got))
        speed = {amp: n / statistics.median(s) for amp, s in seconds.items()}
        rows.append(dict(read='selector' if scale is None else f'{scale:g}x', images=n,
                         acc_float32=_accuracy(ref), acc_amp=_accuracy(got),
                         same_readings_pct=100.0 * same / n, images_per_s_float32=speed[False],
                         images_per_s_amp=speed[True], speed_up=speed[True] / speed[False]))
    name = str(dtype).replace('torch.', '')
    print(f'\nReading {args.labels} in float32 and in {name} ({args.device}, '
          f'{torch.get_num_threads()} thread(s), batch {args.batch_size}, median of '
          f'{args.rounds} alternating rounds after one untimed, torch {torch.__version__})')
    print(tabulate([[r['read'], r['images'], f"{r['acc_float32']:.2f}", f"{r['acc_amp']:.2f}",
                     f"{r['same_readings_pct']:.1f}", f"{r['images_per_s_float32']:.0f}",
                     f"{r['images_per_s_amp']:.0f}", f"{r['speed_up']:.2f}x"] for r in rows],
                   headers=['read at', 'images', 'plate acc. float32 (%)',
                            f'plate acc. {name} (%)', 'same text and scale (%)',
                            'images/s float32', f'images/s {name}', 'speed-up'],
                   tablefmt='github', disable_numparse=True))
    if args.json:
        write_json_atomic(args.json, dict(
            dtype=name, device=args.device, threads=torch.get_num_threads(),
            config=args.config, checkpoint=args.checkpoint, rows=rows), indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'mixed_precision_inference.py'))
