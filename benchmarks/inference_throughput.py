"""CPU/GPU inference throughput and FLOPs of a DLD model at each scale.

    python benchmarks/inference_throughput.py [CONFIG] [CKPT] [--batch-size 64]
        [--repeats 5] [--device cpu] [--amp] [--json OUT] [--cfg-options key=value ...]

Issue targets: the selector adds at most 3% to inference FLOPs, and
throughput (images/s at batch 64) is reported at each scale. For every
candidate scale the student reads one real test batch resized to that scale
(``predict``, greedy decoding, as deployed); the selector alone and DLD end
to end (selector + student at the chosen scales) are timed on the same
batch, and DLD with the reread cascade too when the config (or
``--cfg-options``) sets ``model.test_cfg.reread``. Times are the median of
``--repeats`` runs after one warm-up. Without a checkpoint the weights are
random: FLOPs and throughput do not depend on them, the scales DLD picks do.
``--amp`` times everything in mixed precision, as ``tools/infer.py --amp``
reads (bfloat16 on a CPU with AVX512-BF16 or AMX, float16 on CUDA).
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
from benchmarks.numeric_options import at_least  # noqa: E402
from benchmarks.script_exit import json_file, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default=osp.join(REPO, 'configs/dld_plate.py'),
                   help='DLD config (default: configs/dld_plate.py)')
    p.add_argument('checkpoint', nargs='?', help='DLD checkpoint (student + selector)')
    p.add_argument('--batch-size', type=at_least(1), default=64,
                   help='images per timed batch (default: %(default)s)')
    p.add_argument('--repeats', type=at_least(1), default=5,
                   help='timed runs after one warm-up, median printed (default: %(default)s)')
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (default: %(default)s)")
    p.add_argument('--threads', type=at_least(1), help='torch threads (default: torch decides)')
    p.add_argument('--amp', action='store_true',
                   help='mixed precision, as tools/infer.py --amp reads')
    p.add_argument('--json', type=json_file, help='write the figures here')
    from dld.cli_options import ConfigOptionsAction
    p.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                   help='override config settings (e.g. model.test_cfg.reread...)')
    return p.parse_args(argv)


def _timed(fn, repeats: int, device) -> float:
    import torch
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _test_batch(cfg, batch_size: int):
    from mmengine.runner import Runner

    from dld.engine.launch import ensure_config_data
    ensure_config_data(cfg)
    dl = copy.deepcopy(cfg.test_dataloader)
    dl.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    return next(iter(Runner.build_dataloader(dl, seed=0)))


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from dld.apis.model_loading import (
        build_model_for_inference,
        load_config,
        load_weights,
        resolve_device,
    )
    from dld.utils.precision import autocast_to, resolve_amp
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except ValueError as err:  # torch's 55-line list, or an AssertionError without CUDA
        print(f'inference_throughput.py: --device {args.device}: {err}', file=sys.stderr)
        return 2
    cfg = load_config(args.config, args.cfg_options)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['teacher_ckpt'] = None
    model = build_model_for_inference(model_cfg)
    if args.checkpoint:
        load_weights(model, args.checkpoint, is_distiller=True)
    model = model.to(device).eval()
    # a student's checkpoint (tools/extract_student.py) holds no teacher
    # (greedy decoding runs every step whatever the weights, a beam search may not)
    teacher_weights = 'checkpoint' if bool(getattr(model, 'teacher_loaded', False)) else 'random'
    batch = _test_batch(cfg, args.batch_size)
    batch.pop('inputs_hr', None)
    data = model.data_preprocessor(batch, False)
    x = data['inputs']
    # The students read each frame's valid_ratio (an LR frame's padding) as
    # tools/test.py does; predict overwrites the fields it sets, so the
    # timed repeats can share these samples.
    samples = data['data_samples']
    n = x.shape[0]
    costs = model.costs
    sel_gflops = costs.selector_flops / 1e9
    rows = []
    amp_dtype = resolve_amp(device.type, args.amp)
    with torch.no_grad(), autocast_to(device.type, amp_dtype):
        for s in model.scales:
            xs = model.resize(x, s)
            sec = _timed(lambda xs=xs: model.student.predict(xs, samples), args.repeats, device)
            gfl = costs.student_flops_at(s) / 1e9
            rows.append(dict(name=f'student @{s:g}', scale=s, input_size=list(xs.shape[-2:]),
                             gflops=gfl, images_per_s=n / sec,
                             selector_share_pct=100 * sel_gflops / (gfl + sel_gflops)
                             if model.selector is not None else None))
        t_sec = _timed(lambda: model.teacher.predict(x), args.repeats, device)
        rows.insert(0, dict(name='teacher @1', scale=1.0, input_size=list(x.shape[-2:]),
                            gflops=costs.teacher_flops / 1e9, images_per_s=n / t_sec,
                            selector_share_pct=None))
        if model.selector is not None:
            s_sec = _timed(lambda: model.select(x), args.repeats, device)
            rows.append(dict(name='selector only', scale=None, input_size=None,
                             gflops=sel_gflops, images_per_s=n / s_sec,
                             selector_share_pct=100.0))
            ends = [('DLD + selector', {})]
            if model.test_cfg.get('reread'):
                ends.append(('DLD + selector + reread', model.test_cfg['reread']))
            for name, reread in ends:
                read = model.predict(x, copy.deepcopy(samples), reread=reread)
                mean_gflops = sum(ds.pred_gflops for ds in read) / n
                d_sec = _timed(lambda r=reread: model.predict(x, samples, reread=r),
                               args.repeats, device)
                rows.append(dict(name=name, scale=None, input_size=None,
                                 gflops=mean_gflops, images_per_s=n / d_sec,
                                 selector_share_pct=100 * sel_gflops / mean_gflops))
    from tabulate import tabulate
    print(f'\nInference, batch {n}, device {device} ({platform.processor() or platform.machine()}'
          f', {torch.get_num_threads()} thread(s)), torch {torch.__version__}, '
          f"{str(amp_dtype or torch.float32).replace('torch.', '')}, "
          f"weights: {args.checkpoint or 'random'}, the teacher's: {teacher_weights}")
    print(tabulate([[r['name'], 'x'.join(map(str, r['input_size'] or [])) or '-',
                     f"{r['gflops']:.4f}", f"{r['images_per_s']:.0f}",
                     '-' if r['selector_share_pct'] is None else f"{r['selector_share_pct']:.2f}"]
                    for r in rows],
                   headers=['model', 'input', 'GFLOPs / image', 'images/s',
                            'selector share of FLOPs (%)'], tablefmt='github',
                   disable_numparse=True))
    if model.selector is not None:
        worst = max(r['selector_share_pct'] for r in rows if r['name'].startswith('student'))
        mean = next(r for r in rows if r['name'] == 'DLD + selector')['selector_share_pct']
        print(f'\nTarget (selector <= 3% of inference FLOPs): {mean:.2f}% of the mean DLD cost '
              f'on this batch, {worst:.2f}% at the cheapest scale -> '
              f"{'met' if worst <= 3 else 'NOT met'}")
    if args.json:
        write_json_atomic(args.json, dict(
            batch_size=n, device=str(device), threads=torch.get_num_threads(),
            checkpoint=args.checkpoint, teacher_weights=teacher_weights, rows=rows,
            dtype=str(amp_dtype or torch.float32),
            config=args.config, cfg_options=args.cfg_options, repeats=args.repeats),
                          indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'inference_throughput.py'))
