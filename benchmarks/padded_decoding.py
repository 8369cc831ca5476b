"""What decoding every scale in one padded pass buys a DLD training step.

    python benchmarks/padded_decoding.py [CONFIG] [--steps 30] [--warmup 20]
        [--batch-size 32] [--infer-batch-size 64] [--json OUT]

In a DLD step the student reads each candidate scale on the images that
drew it. Its attention decoder then reads every scale's memory in one pass,
padded to the longest and masked (``reads_padded_memory``), instead of one
small pass per scale. The same model times both ways in one process,
alternating step by step on the same real batches, so machine load hits
both alike: the DLD step of CONFIG (``'sampled'``, selector trained
jointly), full steps (forward, backward, AdamW). Prediction groups images
by the scale the selector picks and decodes the groups the same way; it is
timed on a real test batch spread evenly over the candidate scales (the
selector's routing replaced, so that every scale has images). Prints the
median seconds of each and the speed-up.
"""
import argparse
import os.path as osp
import platform
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.numeric_options import at_least  # noqa: E402
from benchmarks.script_exit import json_file, run_script  # noqa: E402
from benchmarks.training_step_cost import _batches, _dld_model, _setup, _step_fn, _teacher_ckpt  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402

WAYS = {'one padded pass': True, 'one pass per scale': False}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default=osp.join(REPO, 'configs/dld_plate.py'),
                   help='DLD config whose step is timed (default: configs/dld_plate.py)')
    p.add_argument('--teacher-ckpt', help="teacher weights (default: the config's, if it "
                   'exists; else random weights, which cost the same)')
    p.add_argument('--batch-size', type=at_least(1), default=32,
                   help='training batch (default: %(default)s)')
    p.add_argument('--steps', type=at_least(1), default=30, help='timed steps of each way')
    p.add_argument('--infer-batch-size', type=at_least(1), default=64,
                   help='test images read per timed prediction (default: %(default)s)')
    p.add_argument('--warmup', type=at_least(0), default=20,
                   help='untimed rounds first (oneDNN compiles kernels for new shapes)')
    p.add_argument('--threads', type=at_least(1), help='torch threads (default: torch decides)')
    p.add_argument('--json', type=json_file, help='write the figures here')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = _setup(args.config, args.threads)
    import torch
    model = _dld_model(cfg, _teacher_ckpt(cfg, args.teacher_ckpt))
    decoder = model.student.decoder
    if not decoder.reads_padded_memory:
        print(f'{type(decoder).__name__} does not read a padded memory: nothing to compare')
        return 1
    step = _step_fn(model)
    times = {way: [] for way in WAYS}
    for i, batch in enumerate(_batches(cfg, args.batch_size, args.warmup + args.steps)):
        for way, padded in WAYS.items():
            decoder.reads_padded_memory = padded
            start = time.perf_counter()
            step(batch)
            if i >= args.warmup:
                times[way].append(time.perf_counter() - start)
    med = {way: statistics.median(v) for way, v in times.items()}
    speed_up = med['one pass per scale'] / med['one padded pass']
    timed = _predict_times(model, cfg, args)
    predict, images = timed['seconds'], timed['images']
    decoder.reads_padded_memory = True
    predict_speed_up = predict['one pass per scale'] / predict['one padded pass']
    print(f'\nDLD training step (sampled), student decoder over the scales, batch '
          f'{args.batch_size}, {args.steps} timed steps each after {args.warmup} (median), '
          f'torch {torch.__version__}, {torch.get_num_threads()} thread(s), '
          f'{platform.processor() or platform.machine()}')
    print(f"{'decoder':<22}{'s / step':>10}")
    for way, sec in med.items():
        print(f'{way:<22}{sec:>10.3f}')
    print(f'speed-up of the padded pass: {speed_up:.2f}x')
    print(f'\npredict, batch {images} spread evenly over the scales '
          f'{model.scales} (median of {args.steps})'
          + (f'; the test split holds fewer than the {args.infer_batch_size} asked'
             if images < args.infer_batch_size else ''))
    for way, sec in predict.items():
        print(f'{way:<22}{sec:>10.3f}  ({images / sec:.0f} images/s)')
    print(f'speed-up of the padded pass: {predict_speed_up:.2f}x')
    if args.json:
        write_json_atomic(args.json, dict(
            config=args.config, batch_size=args.batch_size, steps=args.steps,
            warmup=args.warmup, seconds=med, speed_up=speed_up,
            infer_batch_size=args.infer_batch_size, infer_images=images, predict_seconds=predict,
            predict_speed_up=predict_speed_up, threads=torch.get_num_threads(),
            torch=torch.__version__), indent=2)
    return 0


def _predict_times(model, cfg, args) -> dict:
    """Median seconds of ``predict`` each way, on one test batch whose images
    go to the candidate scales in turn; ``images``: how many it holds (fewer
    than asked where the test split is smaller)."""
    import copy

    import torch
    data = model.data_preprocessor(
        _batches(cfg, args.infer_batch_size, 1, 'test_dataloader')[0], False)
    inputs, samples = data['inputs'], data['data_samples']
    k = len(model.scales)
    chosen = torch.arange(inputs.shape[0], device=inputs.device) % k
    model.eval()
    model.select = lambda x: (None, chosen)  # every scale reads its share
    decoder = model.student.decoder
    times = {way: [] for way in WAYS}
    for i in range(args.steps + 2):
        for way, padded in WAYS.items():
            decoder.reads_padded_memory = padded
            start = time.perf_counter()
            model.predict(inputs, copy.deepcopy(samples), reread={})
            if i >= 2:
                times[way].append(time.perf_counter() - start)
    return dict(seconds={way: statistics.median(v) for way, v in times.items()},
                images=int(inputs.shape[0]))


if __name__ == '__main__':
    sys.exit(run_script(main, 'padded_decoding.py'))
