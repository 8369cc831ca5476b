"""Evaluate a checkpoint on a config's test set and write the metrics.

    python tools/test.py CONFIG CKPT [--work-dir DIR] [--out metrics.json] [--amp]
        [--dump preds.pkl] [--show-dir DIR [--show-misread]] [--max-batches N]
        [--brief] [--cfg-options key=value ...] [--launcher none]

The metrics (the keys of the config's ``test_evaluator``, e.g.
``plate/accuracy``) are logged and, with ``--out``, written as a JSON object.
Each image's reading: ``--dump`` pickles every test sample's fields
(``DumpReadings``, MMEngine's ``DumpResults`` written whole: ``pred_text``,
``pred_score``, ``pred_scale``, ``gt_text``, paths, ...), ``--show-dir``
draws each image as the model read it with its reading
(``PredictionDrawingHook``), ``--show-misread`` only the labelled ones read
wrong. ``tools/infer.py`` on the test label file gives the
same readings as JSON lines, which ``tools/analysis/analyze_readings.py``
breaks down.

CKPT is loaded strictly, as ``tools/infer.py`` does: a checkpoint that does
not fit the config's model (e.g. a recognizer checkpoint with a DLD config)
stops with a ``CheckpointMismatchError`` instead of being evaluated with
random weights. A DLD config is built without its teacher checkpoint
(``model.teacher_ckpt``): evaluation never runs the teacher, and CKPT holds
every weight it needs.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import sys

from dld.cli_options import add_runner_arguments, parse_runner_args  # light


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a DLD model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--dump', metavar='PKL',
                        help="pickle every test sample's prediction and label to this .pkl "
                        "file (DumpReadings: MMEngine's DumpResults, written whole)")
    parser.add_argument('--show-dir', metavar='DIR',
                        help='draw each test image, as the model read it, with its reading')
    parser.add_argument('--show-misread', action='store_true',
                        help='with --show-dir, draw only the labelled images read wrong')
    parser.add_argument('--max-batches', type=int, metavar='N',
                        help='evaluate the first N test batches only, a quick look (the '
                        "test set's first N x batch size images: its dataset's indices); "
                        'the metrics then say so (max_batches)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='evaluate in mixed precision: float16 on CUDA, bfloat16 on a CPU with '
        'AVX512-BF16 or AMX; ignored elsewhere, where float32 is faster')
    add_runner_arguments(parser, 'test_dataloader.batch_size=8')
    args = parse_runner_args(parser, argv)
    from dld.utils.atomic_file import is_stream
    if args.out and not args.out.lower().endswith('.json') and not is_stream(args.out):
        parser.error(f'--out {args.out}: writes the metrics as JSON, so it takes a .json '
                     'file; for each image\'s prediction use --dump PREDS.pkl (or '
                     'tools/infer.py on the test label file with --out READINGS.jsonl)')
    if args.dump and not args.dump.lower().endswith(('.pkl', '.pickle')):
        parser.error(f'--dump {args.dump}: pickles the predictions, so it takes a .pkl or '
                     '.pickle file')
    if args.max_batches is not None and args.max_batches < 1:
        parser.error(f'--max-batches must be >= 1, got {args.max_batches}')
    if args.show_misread and not args.show_dir:
        parser.error('--show-misread draws into --show-dir: give --show-dir DIR too')
    from dld.utils.output_paths import unwritable_outputs
    problems = unwritable_outputs(files=[('--out', args.out, '.json'),
                                         ('--dump', args.dump, ('.pkl', '.pickle'))],
                                  folders=[('--show-dir', args.show_dir)])
    if problems:  # before the test set is read, not after
        parser.error('; '.join(problems))
    return args


# ruff: noqa: E402  (the imports below come after the arguments are read)
if __name__ == '__main__':  # --help and a usage error at once, before torch and MMEngine load
    parse_args()

import contextlib
import logging
import math
import os
import os.path as osp
import pickle
from typing import Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from dld.apis.model_loading import (
    dataset_sources,
    is_distiller_config,
    load_weights,
    warn_if_other_chars,
)
from dld.dist_launch import end_with_launcher, quiet_other_processes

# Importing dld.engine installs the checkpoint allow-list and weights-only
# loader, so CKPT is read with torch.load(weights_only=True).
from dld.engine.hooks.loader_workers_stop_hook import loader_workers_stopped
from dld.engine.hooks.start_checkpoint_check_hook import mark_weights_loaded
from dld.engine.launch import (
    DISK_ERRNOS,
    build_data_loops,
    build_errors_exit,
    config_errors_exit,
    console_logger_current,
    data_errors_exit,
    finish_run,
    last_line,
    load_runner_config,
    make_run_data,
    peer_loss_exit,
    refuse,
    runner_from_cfg,
    start_processes,
    stopped_in_one_line,
    unwritable_work_dir,
)
from dld.engine.runner_settings import ConfigSettingError, warn_of_compile
from dld.models.distillers.distiller_checks import built_for_reading
from dld.utils.atomic_file import write_json_atomic
from dld.utils.precision import resolve_amp
from dld.utils.registry_hints import registry_hints
from dld.utils.run_environment import run_environment
from dld.utils.stop_signals import said
from dld.utils.trained_input_size import (
    recorded_input_size,
    warn_if_recognizer_other_input_size,
)


def build_config(args) -> Config:
    cfg = load_runner_config(args, training=False)
    if not cfg.get('model'):  # a traceback (AttributeError) where it was None
        raise ConfigSettingError(f'{args.config} sets no `model`: the model CKPT is loaded into')
    if osp.isdir(args.checkpoint):  # after the config's errors, before anything is built
        raise ConfigSettingError(f'checkpoint {args.checkpoint} is a folder; give a checkpoint '
                                 'file in it (e.g. best_*.pth or epoch_N.pth)')
    from dld.engine.checkpoint import CheckpointURLError, is_url
    if is_url(args.checkpoint):  # said as every loader says it, not 'no such file'
        raise ConfigSettingError(f'checkpoint {CheckpointURLError(args.checkpoint)}')
    if not osp.isfile(args.checkpoint):
        raise ConfigSettingError(f'checkpoint {args.checkpoint}: no such file')
    # MMEngine's load_from loads non-strictly (missing weights stay random,
    # logged only): main() loads the checkpoint itself, strictly.
    cfg.load_from = None
    cfg.resume = False
    missing = [key for key in ('test_dataloader', 'test_evaluator') if not cfg.get(key)]
    if missing:
        raise ConfigSettingError(f"the config sets no {' and no '.join(missing)}: test.py "
                                 "evaluates the config's test set with its evaluator")
    if not cfg.get('test_cfg'):
        # MMEngine refuses a test set without a loop; this one is every config's
        cfg.test_cfg = dict(type='TestLoop')
    if is_distiller_config(cfg.model):
        # Evaluation runs the student and the selector only; a full
        # checkpoint carries the teacher's weights anyway.
        cfg.model.teacher_ckpt = None
    if args.max_batches:
        _first_batches_only(cfg, args.max_batches)
    if args.dump:
        cfg.test_evaluator = _with_metric(
            cfg.test_evaluator, dict(type='DumpReadings', out_file_path=args.dump))
    if args.show_dir:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(
            type='PredictionDrawingHook', out_dir=args.show_dir,
            misread_only=args.show_misread)]
    warn_of_compile(cfg, training=False)
    if args.amp:
        device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        # MMEngine's TestLoop autocasts to the device's dtype (bfloat16 on the CPU).
        if resolve_amp(device_type, True) is not None:
            cfg.test_cfg = dict(cfg.get('test_cfg') or dict(type='TestLoop'), fp16=True)
    return cfg


def _first_batches_only(cfg: Config, batches: int) -> None:
    """Read the test set's first ``batches`` batches: its dataset keeps its
    first ``batches x batch_size`` images (MMEngine's ``indices``)."""
    loader = cfg.test_dataloader
    dataset = loader.dataset
    if 'datasets' in dataset or 'dataset' in dataset:  # ConcatDataset, RepeatDataset...
        raise ConfigSettingError(f"--max-batches: the test set is a {dataset.get('type')} of "
                                 'other sets, which takes no indices; set each one\'s '
                                 'indices with --cfg-options')
    if dataset.get('indices') is not None:
        raise ConfigSettingError('--max-batches: the config already sets '
                                 f"test_dataloader.dataset.indices={dataset['indices']!r}")
    dataset.indices = batches * int(loader.batch_size)


def _read_part(runner: Runner, batches: int) -> bool:
    """Whether ``--max-batches`` leaves part of the test set unread (a set
    of 12 images and 100 batches of 16 is read whole), said either way."""
    dataset = runner.test_dataloader.dataset
    kept = len(dataset)
    part = kept >= int(runner.cfg.test_dataloader.dataset.indices)
    if part:
        print_log(f'--max-batches {batches}: evaluating the first {kept} test image(s) only',
                  logger='current', level=logging.WARNING)
    else:
        print_log(f'--max-batches {batches}: the test set has {kept} image(s), fewer than '
                  f'{batches} batch(es) hold: it is read whole', logger='current')
    return part


def _with_metric(evaluator, metric: dict):
    """``evaluator`` (one metric, a list, or ``dict(type='Evaluator',
    metrics=...)``) with ``metric`` added last, so that the first metric,
    the one a best checkpoint and the reports follow, stays first."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        return dict(evaluator, metrics=_with_metric(evaluator['metrics'], metric))
    metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
    return metrics + [metric]


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


def load_checkpoint(runner: Runner, checkpoint: str) -> Optional[Tuple[int, int]]:
    """Load ``checkpoint`` into the runner's model, strictly (see the module
    docstring); ``runner.test()`` then loads nothing, as ``load_from`` is None.
    Returns the ``(H, W)`` a plain recognizer's checkpoint records it trained
    at (None: not recorded, or a distiller's, whose ``base_size`` is checked
    on load), for :func:`warn_if_trained_at_other_size`."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    distiller = is_distiller_config(runner.cfg.model)
    meta = load_weights(model, checkpoint, distiller)
    mark_weights_loaded(runner)  # load_from is None, and the weights are there
    warn_if_other_chars(runner.cfg, meta, checkpoint, model)
    print_log(f'Loaded checkpoint {checkpoint}', logger='current')
    if 'count_flops' in getattr(model, 'TEST_KEYS', ()):
        # a plain recognizer (a DLD distiller counts its own): its cost/
        # figures, beside a DLD student's (ReadingCostMetric)
        model.test_cfg['count_flops'] = True
    return None if distiller else recorded_input_size(meta)


def warn_if_trained_at_other_size(runner: Runner, trained: Optional[Tuple[int, int]],
                                  checkpoint: str) -> None:
    """Warn, as ``PlateRecognizer`` does, where the test pipeline resizes a
    plain recognizer's input to another size than it ``trained`` at: its
    weights fit any size, so it was scored there without a word (each
    set of a concatenation, each size once)."""
    from dld.apis.scaled_prediction import pipeline_input_size
    from dld.datasets import nested_datasets
    if trained is None:
        return
    said = set()
    for part in nested_datasets(runner.test_loop.dataloader.dataset):
        transforms = getattr(getattr(part, 'pipeline', None), 'transforms', ())
        stream = next((t.main_stream for t in transforms if hasattr(t, 'main_stream')), 'lr')
        size = pipeline_input_size(transforms, stream)
        if size is not None and (size, stream) not in said:
            said.add((size, stream))
            warn_if_recognizer_other_input_size(trained, size, checkpoint, stream)


@peer_loss_exit('test.py')  # its peer's line says why the run ended
def main(argv=None) -> dict:
    args = parse_args(argv)
    console_logger_current()  # not an earlier run's (a notebook's)
    end_with_launcher()
    quiet_other_processes()
    with config_errors_exit('test.py'):
        cfg = build_config(args)
    start_processes(cfg)  # the data is made once the checkpoint is loaded (below)
    unwritable = unwritable_work_dir(cfg.work_dir, cfg.filename)
    if unwritable:  # MMEngine's traceback making its log folder, otherwise
        refuse(f'test.py: {unwritable}')
    with registry_hints():  # a mistyped `type` names the close registered ones
        # a setting a part refuses as it is built: one line (a hinted type or
        # argument too: the inner hints come first)
        with build_errors_exit('test.py'), registry_hints():
            with data_errors_exit('test.py'), unwritten_file_exits('; nothing was tested'), \
                    built_for_reading():  # no training-only check refuses a model to test
                # e.g. a dictionary file the decoders cannot use; a full disk
                runner = runner_from_cfg(cfg, args.brief)
        try:
            trained = load_checkpoint(runner, args.checkpoint)
        except (OSError, RuntimeError, pickle.UnpicklingError) as err:
            # missing, truncated, unsafe or of another model: one line, as
            # infer.py says it
            refuse(f'test.py: cannot load the checkpoint: {err}')
        # only now: a checkpoint of other scales was refused after the
        # synthetic test set (1500 tracks) had been rendered
        # e.g. a folder the synthetic set cannot go to, a misspelt synth_plates key
        with config_errors_exit('test.py'), data_errors_exit('test.py'):
            make_run_data(cfg, loaders=('test_dataloader', ))  # a test reads the test set only
        # Ctrl-C or SIGTERM (a job's time limit): one line; nothing is written
        # until the end, so nothing half (it was a traceback, or a silent death)
        with loader_workers_stopped(runner), stopped_in_one_line(
                runner, lambda name: f'test.py: stopped by {said(name)}: no metrics written'):
            build_data_loops(runner, 'test.py', ('test_loop', ), args)
            warn_if_trained_at_other_size(runner, trained, args.checkpoint)
            # --dump, --show-dir on a full disk: one line (the metrics are logged first)
            with data_errors_exit('test.py'), unwritten_file_exits(''):
                part = bool(args.max_batches) and _read_part(runner, args.max_batches)
                metrics = to_jsonable(runner.test())
    if part:  # a part of the test set: the file says so
        metrics['max_batches'] = args.max_batches
    metrics.update(left_out(runner.test_dataloader.dataset))
    if args.out:  # what the figures are of, and made how (the file held the metrics only)
        test_set = cfg.test_dataloader.get('dataset') or {}
        metrics['run'] = dict(
            config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint),
            test_data_root=test_set.get('data_root'), test_ann_file=test_set.get('ann_file'),
            test_sets=dataset_sources(test_set),  # each set of a concatenation too
            cfg_options=dict(args.cfg_options or {}), environment=run_environment())
    if args.out and get_rank() == 0:
        from dld.utils.atomic_file import is_stream
        if not is_stream(args.out):  # /dev/stdout: no folder to make, nothing replaced
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        replaced = ' (the file there replaced)' if osp.isfile(args.out) and \
            not is_stream(args.out) else ''
        with unwritten_file_exits('; the metrics are in the log above (Epoch(test) line)'
                                  + ('' if not replaced else f', {args.out} kept as it was')):
            write_json_atomic(args.out, metrics, indent=2, sort_keys=True, ensure_ascii=False)
        print_log(f'Metrics written to {args.out}{replaced}', logger='current')
    finish_run()
    return metrics



@contextlib.contextmanager
def unwritten_file_exits(then: str):
    """A file of the test (its log, its config's copies, ``--out``,
    ``--dump``, a ``--show-dir`` drawing) the disk refuses ends it in one
    line naming the file, then ``then``, exit status 1: it was a traceback
    ending in ``OSError: [Errno 28] No space left on device``, no file
    named. ``DLD_TRACEBACK=1`` keeps the traceback."""
    try:
        yield
    except OSError as err:
        if os.environ.get('DLD_TRACEBACK', '') not in ('', '0'):
            raise
        name = err.filename if isinstance(err.filename, str) else None
        if name is not None and err.errno in DISK_ERRNOS:
            what = f'cannot write {name}: {err.strerror or err}'
        elif err.errno is None and str(err).startswith('cannot write'):
            what = str(err)  # a drawing's (prediction_drawing names it)
        else:
            raise
        last_line(f'test.py: {what}{then}', logging.ERROR)
        sys.exit(1)


def left_out(dataset) -> dict:
    """What the test set did not score as listed, where anything: label lines
    skipped (``strict=False``: the metrics leave them out) and unreadable
    images skipped (``max_retry``: the next item was scored in each one's
    place), so that the file says so beside the metrics. Every process
    reads the whole label file, and its own share of the images: the images
    are summed over the processes (a collective call: every rank runs it)."""
    from mmengine.dist import all_reduce

    from dld.datasets import nested_datasets
    lines = images = 0
    for ds in nested_datasets(dataset):
        lines += int(getattr(ds, 'num_bad_annotations', 0) or 0)
        images += int(getattr(ds, 'num_skipped_images', 0) or 0)
    images = torch.tensor(images)
    all_reduce(images)
    counts = dict(skipped_annotations=lines, skipped_images=int(images))
    return {key: n for key, n in counts.items() if n}


if __name__ == '__main__':
    main()
    sys.exit(0)
