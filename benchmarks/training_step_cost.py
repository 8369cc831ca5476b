"""Cost of one DLD training step against a student-only step, in one run.

    python benchmarks/training_step_cost.py [CONFIG] [--teacher-ckpt T]
        [--baseline-config C] [--batch-size 32] [--steps 20] [--warmup 20] [--bf16]
        [--json OUT]

Issue target: a DLD step with ``scale_strategy='sampled'`` costs at most 2.5x
a student-only step. Both steps are timed in the same process, on the same
real training batches, interleaved (DLD, student, DLD, ...) so that machine
load hits both alike; each is a full step (forward, backward, optimizer
update). The judged DLD step trains the selector jointly (the paper's
step); the student stage of the two-stage recipe (``train_selector=False``:
uniform scales, no selector) is timed and shown too. The student-only step
is timed two ways:

* ``student@1.0``: the student architecture at the base size, the most
  expensive student step;
* ``no-KD recipe``: the baseline config's model (``student_plate_lr.py``:
  one random candidate scale per batch), the step it is really trained with.

The ratio is reported and judged against both. ``student@1.0`` reads the
same batch at the same size as the DLD step receives it, so its ratio is
what distillation adds (teacher, second scale, beams, selector). The no-KD
recipe's step reads one random, mostly smaller, scale, so its ratio also
counts the input-size saving of that recipe; the teacher's full-resolution
forward alone costs about one such step. With ``--bf16`` every step is
timed a second time under bfloat16 autocast (what ``tools/train.py --amp``
runs on a CPU with native bfloat16, ``BF16OptimWrapper``), interleaved with
the float32 ones, and the speed-up of each is printed. Prints a table and,
with ``--json``, writes the figures.
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
from dld.utils import read_config  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default=osp.join(REPO, 'configs/dld_plate.py'),
                   help='DLD config whose step is timed (default: configs/dld_plate.py)')
    p.add_argument('--teacher-ckpt', help="teacher weights (default: the config's, if it "
                   'exists; else random weights, which cost the same)')
    p.add_argument('--baseline-config', default=osp.join(REPO, 'configs/student_plate_lr.py'),
                   help="the no-KD recipe's config (default: configs/student_plate_lr.py)")
    p.add_argument('--batch-size', type=at_least(1), default=32,
                   help='training batch of every step (default: %(default)s)')
    p.add_argument('--steps', type=at_least(1), default=20, help='timed steps per model')
    p.add_argument('--warmup', type=at_least(0), default=20,
                   help='untimed rounds first: oneDNN compiles a kernel for each new '
                   "input shape, and the DLD step's per-scale sub-batches keep meeting "
                   'new sizes for tens of steps, which a long run no longer pays')
    p.add_argument('--threads', type=at_least(1), help='torch threads (default: torch decides)')
    p.add_argument('--device', default='cpu',
                   help="where the steps run: 'cpu' (the published figures) or 'cuda'; "
                   'a CUDA step is timed to its end (synchronized)')
    p.add_argument('--bf16', action='store_true',
                   help='also time every step under bfloat16 autocast, interleaved')
    p.add_argument('--json', type=json_file, help='write the figures here')
    return p.parse_args(argv)


def _batches(cfg, batch_size: int, count: int, loader_key: str = 'train_dataloader'):
    """``count`` batches of the config's ``loader_key`` loader (the training
    steps': the train loader; padded_decoding.py's predict: the test one)."""
    from mmengine.runner import Runner

    from dld.engine.launch import ensure_config_data
    what = 'the training steps are' if loader_key == 'train_dataloader' else 'predict is'
    if not cfg.get(loader_key):  # e.g. an inference-only config (an AttributeError)
        raise ValueError(f'{cfg.filename}: no {loader_key}, whose batches {what} timed on; '
                         f'give a config with one')
    ensure_config_data(cfg)
    dl = copy.deepcopy(cfg[loader_key])
    dl.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(dl, seed=0)
    out = []
    while len(out) < count:  # a set smaller than the run is read again
        read = len(out)
        for batch in loader:
            out.append(batch)
            if len(out) == count:
                break
        if len(out) == read:
            raise ValueError(f'{cfg.filename}: its {loader_key} yields no batch.')
    return out


def _step_fn(model, bf16: bool = False):
    import torch
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    device_type = next(model.parameters()).device.type

    def step(batch):
        data = model.data_preprocessor(batch, True)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def _setup(config: str, threads=None):
    """The config, with dld's modules registered, its scope set, torch seeded
    and its thread count fixed when asked."""
    import torch
    from mmengine.registry import init_default_scope

    import dld  # noqa: F401  (registers modules)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    init_default_scope('dld')
    return read_config(config)


def _teacher_ckpt(cfg, teacher_ckpt=None):
    """The teacher to time with: ``teacher_ckpt``, else the config's if it
    exists, else None (random weights, which cost the same)."""
    if teacher_ckpt and not osp.exists(teacher_ckpt):  # a typo: not random weights
        raise FileNotFoundError(f'--teacher-ckpt {teacher_ckpt}: no such file or folder')
    ckpt = teacher_ckpt or cfg.model.get('teacher_ckpt')
    if ckpt and not osp.exists(ckpt):
        print(f'teacher checkpoint {ckpt} not found: timing with random weights', flush=True)
        ckpt = None
    return ckpt


def _dld_model(cfg, ckpt, train_selector: bool = True):
    """The config's distiller with the 'sampled' strategy, in train mode."""
    from dld.apis.model_loading import is_distiller_config
    from dld.registry import MODELS
    if not is_distiller_config(cfg.model):  # it was the recognizer's TypeError
        raise ValueError(f"{cfg.filename}: a {cfg.model.get('type')} config; this times DLD's "
                         "training step: give a DLD config (model.type='DLDDistiller'), e.g. "
                         'configs/dld_plate.py')
    model_cfg = dict(copy.deepcopy(cfg.model), teacher_ckpt=ckpt, scale_strategy='sampled',
                     train_selector=train_selector)
    model = MODELS.build(model_cfg).train()
    if ckpt is None:  # timing only: random teacher weights cost the same
        model.teacher_loaded.fill_(True)
    return model


def _synchronize(device) -> None:
    """A CUDA step returns before its kernels end: wait for them, so that
    the clock times the step and not its launch."""
    import torch
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _device_name(device) -> str:
    import torch
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


DLD_STEP = 'DLD (sampled)'  # the judged step: each row's ratio is against it
BF16 = ' bf16'  # the name of a step timed again under bfloat16 autocast ends so


def step_rows(seconds: dict) -> list:
    """``(step, s / step, DLD / this)`` per timed step. A bfloat16 step is
    divided into the bfloat16 DLD step: the ratio is within one precision,
    as the target is (against the float32 DLD step it would mix the speed-up
    of bfloat16 into it)."""
    return [(name, sec, seconds[DLD_STEP + BF16 if name.endswith(BF16) else DLD_STEP] / sec)
            for name, sec in seconds.items()]


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = _setup(args.config, args.threads)
    import torch
    try:
        device = torch.device(args.device)
    except RuntimeError as err:  # 'gpu', say
        print(f'--device {args.device}: {err}', file=sys.stderr)
        return 2
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('--device cuda: this machine has no CUDA device', file=sys.stderr)
        return 2

    from dld.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    ckpt = _teacher_ckpt(cfg, args.teacher_ckpt)
    # The judged step trains the selector jointly (the paper); the student
    # stage (train_selector=False: no selector, uniform scales) is timed too.
    dld_model = _dld_model(cfg, ckpt, train_selector=True)
    stage_model = _dld_model(cfg, ckpt, train_selector=False)
    student_cfg = copy.deepcopy(model_cfg['student'])
    student_cfg['data_preprocessor'] = copy.deepcopy(cfg.model['data_preprocessor'])
    student = MODELS.build(student_cfg).train()
    base_cfg = read_config(args.baseline_config)
    baseline = MODELS.build(copy.deepcopy(base_cfg.model)).train()

    batches = _batches(cfg, args.batch_size, args.steps + args.warmup)
    lr_only = [dict(inputs=b['inputs'], data_samples=b['data_samples']) for b in batches]
    steps = {DLD_STEP: (dld_model, batches), 'DLD student stage': (stage_model, batches),
             'student@1.0': (student, lr_only), 'no-KD recipe': (baseline, lr_only)}
    for model, _ in steps.values():
        model.to(device)
    runs = {name: (_step_fn(model), data) for name, (model, data) in steps.items()}
    if args.bf16:
        runs.update({name + BF16: (_step_fn(model, bf16=True), data)
                     for name, (model, data) in steps.items()})
    times = {k: [] for k in runs}
    for i, _ in enumerate(batches):
        for name, (step, data) in runs.items():
            _synchronize(device)
            start = time.perf_counter()
            step(data[i])
            _synchronize(device)
            if i >= args.warmup:
                times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    dld_s = med[DLD_STEP]
    print(f'\nTraining step cost, batch {args.batch_size}, {len(times["student@1.0"])} timed '
          f'steps each (median), torch {torch.__version__}, {torch.get_num_threads()} '
          f'thread(s), {_device_name(device)}')
    # what was timed: a report read later named neither
    print(f'config {args.config}, teacher {ckpt or "with random weights (the same cost)"}, '
          f'no-KD recipe {args.baseline_config}')
    print(f"{'step':<24}{'s / step':>10}{'DLD / this':>12}")
    for name, sec, ratio in step_rows(med):
        print(f'{name:<24}{sec:>10.3f}{ratio:>12.2f}')
    ratio = dld_s / med['no-KD recipe']
    for name in ('student@1.0', 'no-KD recipe'):
        r = dld_s / med[name]
        print(f'Target (DLD sampled step <= 2.5x a student-only step, {name}): '
              f"{r:.2f}x -> {'met' if r <= 2.5 else 'NOT met'}")
    if args.bf16:
        print('\nbfloat16 autocast against float32, same steps (float32 s / bfloat16 s):')
        for name in steps:
            print(f'{name:<24}{med[name] / med[name + BF16]:>10.2f}x')
        for name in ('student@1.0', 'no-KD recipe'):
            print(f'bfloat16: DLD sampled / {name}: '
                  f'{med[DLD_STEP + BF16] / med[name + BF16]:.2f}x')
    if args.json:
        write_json_atomic(args.json, dict(
            batch_size=args.batch_size, steps=args.steps, seconds=med,
            ratio_vs_student_1_0=dld_s / med['student@1.0'], ratio_vs_nokd_recipe=ratio,
            target_met_vs_student_1_0=dld_s / med['student@1.0'] <= 2.5,
            target_met_vs_nokd_recipe=ratio <= 2.5, threads=torch.get_num_threads(),
            torch=torch.__version__, device=str(device), processor=_device_name(device),
            bf16=args.bf16,
            teacher_ckpt=ckpt, config=args.config,
            baseline_config=args.baseline_config, warmup=args.warmup,
            **(dict(bf16_speed_up={name: med[name] / med[name + BF16] for name in steps},
                    bf16_ratio_vs_student_1_0=med[DLD_STEP + BF16] / med['student@1.0' + BF16],
                    bf16_ratio_vs_nokd_recipe=med[DLD_STEP + BF16] / med['no-KD recipe' + BF16])
               if args.bf16 else {})),
                          indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'training_step_cost.py'))
