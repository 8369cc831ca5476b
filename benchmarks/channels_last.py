"""What the backbone's channels-last layout buys, per step and per scale.

    python benchmarks/channels_last.py [CONFIG] [--batch-size 32]
        [--infer-batch-size 64] [--scales 1.0 0.8 ...] [--repeats 7] [--json OUT]

``ResNetPlate(channels_last=True)`` (the default) runs its convolutions on a
channels-last copy of the input. The recogniser of CONFIG (default: the HR
teacher, the same network as the student) is built twice with the same
weights, once per layout, and timed in one process, interleaved so that
machine load hits both alike: a full training step (forward, backward,
AdamW) on real training batches at the config's size, and greedy inference
(``predict``) on a real test batch resized to each scale. Prints the median
seconds of each, the speed-up, and how far the two layouts' logits differ
(float rounding only: the arithmetic is the same).
"""
import argparse
import copy
import os.path as osp
import platform
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.numeric_options import at_least, positive  # noqa: E402
from benchmarks.script_exit import json_file, run_script  # noqa: E402
from benchmarks.training_step_cost import _batches, _setup, _step_fn  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default=osp.join(REPO, 'configs/teacher_plate_hr.py'),
                   help='recogniser config to time (default: configs/teacher_plate_hr.py)')
    p.add_argument('--batch-size', type=at_least(1), default=32, help='training batch')
    p.add_argument('--infer-batch-size', type=at_least(1), default=64,
                   help='images per inference batch (default: %(default)s)')
    p.add_argument('--scales', type=positive, nargs='+', default=[1.0, 0.8, 0.6, 0.5, 0.4, 0.3],
                   help='scales of the base size inference is timed at (default: 1.0 to 0.3)')
    p.add_argument('--repeats', type=at_least(1), default=7, help='timed runs of each, per layout')
    p.add_argument('--threads', type=at_least(1), help='torch threads (default: torch decides)')
    p.add_argument('--json', type=json_file, help='write the figures here')
    return p.parse_args(argv)


def _interleaved(fns: dict, repeats: int) -> dict:
    """Median seconds of each callable, run in turn ``repeats`` times after a warm-up."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = _setup(args.config, args.threads)
    if 'student' in cfg.model:  # its training step is the distiller's, not timed here
        print(f'channels_last.py: {args.config} is a DLD config; give a recognizer config '
              '(e.g. configs/student_plate_lr.py, the student\'s architecture)', file=sys.stderr)
        return 2
    import torch

    from dld.models.selectors.scale_resize import resize_to_scale
    from dld.registry import MODELS
    models = {}
    for layout, flag in (('contiguous', False), ('channels-last', True)):
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.backbone['channels_last'] = flag
        models[layout] = MODELS.build(model_cfg)
    models['channels-last'].load_state_dict(models['contiguous'].state_dict())

    batches = _batches(cfg, args.batch_size, args.repeats + 1)
    steps = {k: _step_fn(copy.deepcopy(m).train()) for k, m in models.items()}
    cursor = {k: 0 for k in steps}

    def train_step(layout):
        def run():
            steps[layout](batches[cursor[layout] % len(batches)])
            cursor[layout] += 1
        return run
    train = _interleaved({k: train_step(k) for k in steps}, args.repeats)

    test = _batches(cfg, args.infer_batch_size, 1, 'test_dataloader')[0]
    for m in models.values():
        m.eval()
    data = models['contiguous'].data_preprocessor(test, False)
    base_hw = tuple(data['inputs'].shape[-2:])
    with torch.no_grad():
        logits = {k: m(data['inputs'], mode='tensor') for k, m in models.items()}
    max_diff = (logits['contiguous'] - logits['channels-last']).abs().max().item()

    rows, infer = [], {}
    for scale in args.scales:
        x = resize_to_scale(data['inputs'], scale, base_hw)

        def predict(layout, x=x):
            def run():
                with torch.no_grad():
                    models[layout].predict(x, copy.deepcopy(data['data_samples']))
            return run
        sec = _interleaved({k: predict(k) for k in models}, args.repeats)
        infer[scale] = sec
        rows.append((f'predict @{scale:g} ({x.shape[-2]}x{x.shape[-1]})', sec))
    rows.insert(0, (f'train step @1 ({base_hw[0]}x{base_hw[1]})', train))

    print(f'\nChannels-last backbone, {args.repeats} interleaved runs each (median), '
          f'train batch {args.batch_size}, inference batch {args.infer_batch_size}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} thread(s), '
          f'{torch.backends.cpu.get_cpu_capability()}, {platform.machine()}')
    print(f"{'run':<32}{'contiguous s':>14}{'channels-last s':>17}{'speed-up':>10}")
    for name, sec in rows:
        print(f"{name:<32}{sec['contiguous']:>14.3f}{sec['channels-last']:>17.3f}"
              f"{sec['contiguous'] / sec['channels-last']:>9.2f}x")
    print(f'largest difference of the logits between the layouts: {max_diff:.2e}')
    if args.json:
        write_json_atomic(args.json, dict(
            config=args.config, train_step=train, predict={str(k): v for k, v in infer.items()},
            max_logit_difference=max_diff, threads=torch.get_num_threads(),
            batch_size=args.batch_size, infer_batch_size=args.infer_batch_size,
            scales=args.scales, repeats=args.repeats, torch=torch.__version__), indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'channels_last.py'))
