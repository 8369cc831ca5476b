"""Evaluate a checkpoint on a config's test set and write the metrics.

    python tools/test.py CONFIG CKPT [--work-dir DIR] [--out metrics.json] [--amp]
        [--cfg-options key=value ...] [--launcher none]

The metrics (the keys of the config's ``test_evaluator``, e.g.
``plate/accuracy``) are logged and, with ``--out``, written as a JSON object.

CKPT is loaded strictly, as ``tools/infer.py`` does: a checkpoint that does
not fit the config's model (e.g. a recognizer checkpoint with a DLD config)
stops with a ``CheckpointMismatchError`` instead of being evaluated with
random weights. A DLD config is built without its teacher checkpoint
(``model.teacher_ckpt``): evaluation never runs the teacher, and CKPT holds
every weight it needs.
"""
import argparse
import math
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from dld.apis.model_loading import is_distiller_config, load_weights, warn_if_other_chars

# Importing dld.engine installs the checkpoint allow-list and weights-only
# loader, so CKPT is read with torch.load(weights_only=True).
from dld.engine.launch import (
    add_runner_arguments,
    finish_run,
    load_runner_config,
    parse_runner_args,
    prepare_run,
)
from dld.utils.atomic_file import write_json_atomic
from dld.utils.precision import resolve_amp
from dld.utils.registry_hints import registry_hints


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a DLD model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='evaluate in mixed precision: float16 on CUDA, bfloat16 on a CPU with '
        'AVX512-BF16 or AMX; ignored elsewhere, where float32 is faster')
    add_runner_arguments(parser, 'test_dataloader.batch_size=8')
    return parse_runner_args(parser, argv)


def build_config(args) -> Config:
    cfg = load_runner_config(args)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}')
    # MMEngine's load_from loads non-strictly (missing weights stay random,
    # logged only): main() loads the checkpoint itself, strictly.
    cfg.load_from = None
    cfg.resume = False
    if is_distiller_config(cfg.model):
        # Evaluation runs the student and the selector only; a full
        # checkpoint carries the teacher's weights anyway.
        cfg.model.teacher_ckpt = None
    if args.amp:
        device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        # MMEngine's TestLoop autocasts to the device's dtype (bfloat16 on the CPU).
        if resolve_amp(device_type, True) is not None:
            cfg.test_cfg = dict(cfg.get('test_cfg') or dict(type='TestLoop'), fp16=True)
    return cfg


def to_jsonable(metrics: dict) -> dict:
    """Metric values as plain JSON numbers (they may be numpy or tensors);
    NaN and infinities, which JSON has no number for, become null."""
    out = {}
    for key, value in metrics.items():
        if hasattr(value, 'item'):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = value
    return out


def load_checkpoint(runner: Runner, checkpoint: str) -> None:
    """Load ``checkpoint`` into the runner's model, strictly (see the module
    docstring); ``runner.test()`` then loads nothing, as ``load_from`` is None."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    meta = load_weights(model, checkpoint, is_distiller_config(runner.cfg.model))
    warn_if_other_chars(runner.cfg, meta, checkpoint)
    print_log(f'Loaded checkpoint {checkpoint}', logger='current')


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = build_config(args)
    prepare_run(cfg)
    with registry_hints():  # a mistyped `type` names the close registered ones
        runner = Runner.from_cfg(cfg)
        load_checkpoint(runner, args.checkpoint)
        metrics = to_jsonable(runner.test())
    if args.out and get_rank() == 0:
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        write_json_atomic(args.out, metrics, indent=2, sort_keys=True)
        print_log(f'Metrics written to {args.out}', logger='current')
    finish_run()
    return metrics


if __name__ == '__main__':
    main()
    sys.exit(0)
