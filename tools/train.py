"""Train a DLD model from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--brief] [--cfg-options key=value ...] [--launcher none]

Distributed: ``tools/dist_train.sh CONFIG NUM_PROCS [args]`` (torchrun), or
without bash ``python -m dld.dist_launch --nproc_per_node=N tools/train.py
CONFIG --launcher pytorch [args]``.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import sys

from dld.cli_options import add_runner_arguments, parse_runner_args  # light


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a DLD model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT; without a path, from the latest checkpoint '
        'in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: float16 with loss scaling on CUDA, bfloat16 on a CPU '
        'with native bfloat16 (AVX512-BF16 or AMX); ignored on other CPUs')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate (and a one-cycle schedule\'s peak) by the actual '
        'total batch size over `auto_scale_lr.base_batch_size`')
    add_runner_arguments(parser, 'train_cfg.max_epochs=3 param_scheduler.0.end=3 '
                         'param_scheduler.0.eta_max=1e-4')
    return parse_runner_args(parser, argv)


# ruff: noqa: E402  (the imports below come after the arguments are read)
if __name__ == '__main__':  # --help and a usage error at once, before torch and MMEngine load
    parse_args()

import errno
import logging
import os
import os.path as osp
import pickle
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.dist import get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.runner import BaseLoop, EpochBasedTrainLoop, Runner

# Importing dld.engine (here and through dld.apis) installs the checkpoint
# allow-list and weights-only loader before any checkpoint (`load_from`,
# `--resume`) is read.
from dld.apis.model_loading import CheckpointMismatchError
from dld.dist_launch import end_with_launcher, quiet_other_processes
from dld.engine.checkpoint import (
    CHECKPOINT_ERRORS,
    CheckpointReadError,
    CheckpointWriteError,
    epoch_end_before,
    latest_checkpoint,
    numbered_checkpoints,
    resume_advice,
)
from dld.engine.hooks.gumbel_temperature_hook import warn_if_not_annealed
from dld.engine.hooks.loader_workers_stop_hook import loader_workers_stopped
from dld.engine.hooks.non_finite_check_hook import TrainingDivergedError
from dld.engine.hooks.resumed_schedule_check_hook import ResumedScheduleError
from dld.engine.hooks.start_checkpoint_check_hook import check_run_start
from dld.engine.init_cfg_check import check_init_cfgs, warn_unmatched_init_layers
from dld.engine.launch import (
    DISK_ERRNOS,
    build_data_loops,
    build_errors_exit,
    check_inputs_of_base_size,
    check_teacher_gets_hr,
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
from dld.engine.lr_schedule_options import (
    scale_one_cycle_peaks,
    warn_lr_set_by_schedule,
    warn_schedule_outlasting_training,
)
from dld.engine.optimization_build import build_optimization
from dld.engine.runner_settings import ConfigSettingError, check_train_loop, warn_of_compile
from dld.engine.start_checkpoint import (
    StartCheckpointError,
    check_frozen_parts_loaded,
    check_start_path,
    checkpoint_to_resume,
)
from dld.engine.work_dir_lock import WorkDirInUseError, lock_work_dir, release_held_work_dirs
from dld.models.distillers.teacher_checkpoint import UntrainedTeacherError, check_config_teacher
from dld.utils.config_types import type_name
from dld.utils.precision import resolve_amp
from dld.utils.registry_hints import registry_hints
from dld.utils.stop_signals import said


def build_config(args) -> Config:
    """The config as the runner will see it, with the CLI flags applied."""
    cfg = load_runner_config(args)
    if not cfg.get('model'):  # MMEngine's KeyError ('model') or TypeError (None), located
        raise ConfigSettingError(f'{args.config} sets no `model`: the model to train')
    check_train_loop(cfg)
    warn_lr_set_by_schedule(cfg, args.cfg_options or {})
    warn_schedule_outlasting_training(cfg)
    warn_of_compile(cfg)

    if args.amp:
        enable_amp(cfg, args.config)

    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr', {}).get('base_batch_size') is None:
            raise ConfigSettingError(  # one line, status 2 (a ValueError was a traceback)
                f'--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` '
                f'in {args.config} (or its _base_ schedule).')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto' or (args.resume is None and cfg.get('resume') is True
                                 and not cfg.get('load_from')):  # MMEngine's auto-resume
        try:
            ckpt = checkpoint_to_resume(cfg.work_dir)
        except StartCheckpointError as err:
            refuse(f'train.py: {err}')
        if ckpt is None:
            # Nothing saved yet (a run stopped in its first epoch): start as
            # configured. Cleared, `load_from` (the weights a student cycle
            # starts from, say) would be silently dropped for random ones;
            # and `resume=True` would let MMEngine follow a `last_checkpoint`
            # naming a file that is gone, and fail.
            start = (f'from load_from={cfg.load_from}' if cfg.get('load_from') else
                     'afresh')
            print_log(f'--resume: no checkpoint in {cfg.work_dir} yet; starting {start}.',
                      logger='current')
            cfg.resume = False
        else:
            cfg.resume = True
            cfg.load_from = ckpt
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    check_frozen_parts_loaded(cfg.get('model') or {}, cfg.get('load_from'), cfg.get('resume'))
    if cfg.get('resume') and cfg.get('load_from'):
        resume_with_saved_teacher(cfg)
    elif cfg.get('load_from'):
        start_with_saved_teacher(cfg)
    return cfg


def note_augmentations_drawn_anew(runner: Runner) -> None:
    """Say that a resumed run whose training items' augmentations come from
    the loader workers' generators (a set with ``seed_pipeline=False``, the
    quickstart teacher's) reads other augmentations than the unbroken run
    would: its workers start afresh. Said in a config comment only, it was
    taken for an exact resume. The built sets are asked (the online set
    seeds its items by default; a wrapper's sets are its own)."""
    from dld.datasets import nested_datasets
    loader = runner.train_dataloader
    unseeded = [d for d in nested_datasets(getattr(loader, 'dataset', None))
                if hasattr(d, 'seed_pipeline') and not d.seed_pipeline]
    if not unseeded or not getattr(loader, 'num_workers', 0):
        return
    print_log('Resuming a run whose training images are augmented by the loader workers\' '
              f'own generators ({type(unseeded[0]).__name__} with seed_pipeline=False): the '
              'workers start afresh, so the rest of the run reads other augmentations than '
              'the unbroken run would have (seed_pipeline=True makes a resume exact).',
              logger='current')


def teacher_checkpoint_gone(cfg: Config) -> bool:
    """Whether ``model.teacher_ckpt`` names a local file, or a work dir of
    one, where nothing is. A URL, a folder of several best checkpoints or a
    broken ``best.pth`` link is not gone: the teacher check says what to do
    (a checkpoint's own teacher silently stood in for an ambiguous one)."""
    from dld.engine.checkpoint import is_url
    from dld.models.distillers.teacher_checkpoint import resolve_teacher_checkpoint
    model = cfg.get('model')
    path = model.get('teacher_ckpt') if isinstance(model, dict) else None
    if not isinstance(path, str) or is_url(path):
        return False
    try:
        return not osp.lexists(resolve_teacher_checkpoint(path))
    except FileNotFoundError:  # several best_*.pth, a link to nothing: to be picked
        return False


def resume_with_saved_teacher(cfg: Config) -> None:
    """A resumed DLD run whose ``model.teacher_ckpt`` is gone (moved, deleted
    to save space) goes on with the teacher its checkpoint holds, the one it
    trained with: it was refused, 'train one first', though nothing of that
    file is read on a resume."""
    if teacher_checkpoint_gone(cfg):
        print_log(f'model.teacher_ckpt ({cfg.model.teacher_ckpt}) is not there; the resumed '
                  f'checkpoint ({cfg.load_from}) holds the teacher the run trained with, which '
                  'it goes on with.', logger='current', level=logging.WARNING)
        cfg.model.teacher_ckpt = None


def start_with_saved_teacher(cfg: Config) -> None:
    """A run started from a DLD checkpoint (``load_from``: a selector stage
    after its student stage) whose ``model.teacher_ckpt`` is not there takes
    the teacher that checkpoint holds, the one its student was distilled
    from: it was refused, 'train one first', with the teacher at hand."""
    model = cfg.get('model')
    if not isinstance(model, dict) or not isinstance(model.get('teacher_ckpt'), str) \
            or model.get('teacher_from', 'teacher') == 'student':
        return
    if not teacher_checkpoint_gone(cfg):
        return
    from dld.engine.checkpoint import CHECKPOINT_ERRORS, load_checkpoint_file
    try:
        # on the CPU: a GPU-saved optimizer state failed to load on a CPU-only machine
        state = load_checkpoint_file(cfg.load_from, map_location='cpu').get('state_dict', {})
    except (OSError, *CHECKPOINT_ERRORS):  # the start check says what is wrong with it
        return
    if not any(k.startswith('teacher.') for k in state):
        return  # refused as before: no teacher to take
    print_log(f'model.teacher_ckpt ({model.teacher_ckpt}) is not there; load_from '
              f'({cfg.load_from}) holds a teacher, the one its student was distilled from, '
              'which this run takes.', logger='current', level=logging.WARNING)
    cfg.model.teacher_ckpt = None


def enable_amp(cfg: Config, config_path: str) -> None:
    """Swaps ``OptimWrapper`` for the mixed-precision wrapper this machine runs fastest."""
    device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
    if resolve_amp(device_type, True) is None:  # logs why
        return
    # float16 named: left None, MMEngine asks torch.get_autocast_gpu_dtype(), deprecated
    wrapper, extra = (('AmpOptimWrapper', dict(loss_scale='dynamic', dtype='float16'))
                      if device_type == 'cuda'
                      else ('BF16OptimWrapper', {}))
    # a name, or the class of a pure-Python config (`type=OptimWrapper`)
    current = type_name(cfg.optim_wrapper.get('type', 'OptimWrapper'))
    if current in ('AmpOptimWrapper', 'BF16OptimWrapper'):
        print_log(f'Mixed precision is already on in the config ({current}).',
                  logger='current')
        wrapper = current
    elif current != 'OptimWrapper':
        raise ConfigSettingError(f'--amp turns `optim_wrapper.type` from OptimWrapper into '
                                 f'{wrapper}, but {config_path} uses {current!r}; set its '
                                 'mixed-precision options in the config instead.')
    else:
        cfg.optim_wrapper.type = wrapper
        cfg.optim_wrapper.update(extra)
    validates = cfg.get('val_cfg') is not None
    if validates:
        # MMEngine's ValLoop autocasts to the device's dtype, as tools/test.py --amp.
        cfg.val_cfg = dict(cfg.val_cfg, fp16=True)
    print_log(f'--amp: training with {wrapper}'
              + (', validating in mixed precision too.' if validates else '.'),
              logger='current')


@peer_loss_exit('train.py')  # its peer's line says why the run ended
def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        train(args)
    finally:  # called in a notebook, a refused or stopped run held its work dir on
        release_held_work_dirs()


def train(args) -> None:
    console_logger_current()  # not an earlier run's (a notebook's)
    end_with_launcher()
    quiet_other_processes()
    with config_errors_exit('train.py'):
        cfg = build_config(args)
        check_init_cfgs(cfg)  # read when training starts, after the set-up text
    if cfg.get('load_from'):  # a --resume path that is not there: now, not after the set-up
        try:
            check_start_path(cfg.load_from, bool(cfg.get('resume')))
        except StartCheckpointError as err:
            refuse(f'train.py: {err}')
    with build_errors_exit('train.py'):
        check_config_teacher(cfg)
    start_processes(cfg)  # the data is made once the model is built (below)
    unwritable = unwritable_work_dir(cfg.work_dir, cfg.filename, bool(cfg.get('resume')))
    if unwritable:  # MMEngine's traceback making its log folder, otherwise
        refuse(f'train.py: {unwritable}')
    if get_rank() == 0:  # before the runner writes its config into the folder
        try:
            lock_work_dir(cfg.work_dir)
        except WorkDirInUseError as err:
            refuse(f'train.py: {err}')
        _note_earlier_run(cfg)
    scale_one_cycle_peaks(cfg, get_world_size())  # the number of processes is known now
    with registry_hints():  # a mistyped `type` names the close registered ones
        # a setting a part refuses as it is built: one line (a hinted type or
        # argument too: the inner hints come first)
        with build_errors_exit('train.py'), registry_hints():
            with data_errors_exit('train.py'):  # e.g. a dictionary file the decoders cannot use
                try:
                    runner = runner_from_cfg(cfg, args.brief)
                except OSError as err:  # its log, its config's copies: a full disk
                    what = run_file_unwritten(err, cfg.work_dir)
                    if what is None:
                        raise
                    last_line(f'train.py: {what}; the run did not start', logging.ERROR)
                    sys.exit(1)
        warn_unmatched_init_layers(runner.model, cfg)
        # MMEngine builds them in runner.train(), after the data: a misspelt
        # argument or type was a traceback there
        with build_errors_exit('train.py', 'the optimizer or its schedule (optim_wrapper, '
                               'param_scheduler) cannot be built: '), registry_hints():
            build_optimization(runner)
        # after the model: a mistyped part was refused after minutes of rendering
        # e.g. a folder the synthetic set cannot go to, a misspelt synth_plates key
        with config_errors_exit('train.py'), data_errors_exit('train.py'):
            make_run_data(cfg)
        try:
            check_run_start(runner)  # before the sets are built; the hook then skips it
        except (StartCheckpointError, CheckpointReadError, CheckpointMismatchError, OSError,
                pickle.UnpicklingError,  # unreadable, unsafe or not a checkpoint
                ConfigSettingError) as err:  # a frozen part no config check could see
            refuse(f'train.py: {err}')
        # inside: the workers' exit codes are read before they are stopped
        with loader_workers_stopped(runner), \
                stopped_in_one_line(runner, lambda name: stop_line(runner, name)):
            # the sets are built (a scan of many track folders) inside too
            build_data_loops(runner, 'train.py', ('train_loop', 'val_loop'), args)
            if cfg.get('resume'):
                note_augmentations_drawn_anew(runner)
            check_teacher_gets_hr(runner, 'train.py')
            check_inputs_of_base_size(runner, 'train.py', ('train_loop', 'val_loop'))
            warn_if_not_annealed(runner)
            try:
                with data_errors_exit('train.py'):
                    runner.train()
            except (ResumedScheduleError, ConfigSettingError,  # before the first step
                    WorkDirInUseError,  # another run trains in this work dir
                    UntrainedTeacherError,  # a load_from that brought no teacher
                    *CHECKPOINT_ERRORS) as err:  # an init_cfg's Pretrained file, say
                refuse(f'train.py: {err}')
            except TrainingDivergedError as err:  # each process's traceback, otherwise
                if get_rank() == 0:  # every process diverges alike: said once
                    last_line(f'train.py: {err}', logging.ERROR)
                sys.exit(1)
            except OSError as err:  # a full disk, a read-only work dir: one line
                what = run_file_unwritten(err, runner.work_dir)
                if what is None:
                    raise
                last = resumable_checkpoint(runner)
                last_line(f'train.py: {what}; '
                          + (f'{resume_advice(runner.work_dir, last)} {_once_writable(err)}.'
                             if last else 'no checkpoint was saved yet.'), logging.ERROR)
                sys.exit(1)
    finish_run()



def run_file_unwritten(err: OSError, work_dir: str) -> Optional[str]:
    """What could not be written, where ``err`` is a checkpoint's write
    error, or a disk's error on a file of the run in ``work_dir`` (the
    scalars' file, a log: a full disk was a traceback of 35 lines there), or
    a permission refused there (made read-only), or a full disk writing a
    file whose name the error does not give (a write to a file open already);
    None otherwise, and with ``DLD_TRACEBACK=1``: an error of another file
    keeps its traceback, which says where it came from."""
    if os.environ.get('DLD_TRACEBACK', '') not in ('', '0'):
        return None
    if isinstance(err, CheckpointWriteError):
        return str(err)
    name = err.filename if isinstance(err.filename, str) else None
    if name is None:
        if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return (f'A write failed: {err.strerror or err} (no file named; the run writes '
                    f'into {work_dir})')
        return None
    in_work_dir = osp.abspath(name).startswith(osp.abspath(work_dir) + osp.sep)
    if in_work_dir and err.errno in (*DISK_ERRNOS, errno.EACCES, errno.EPERM):
        return f'Cannot write {name}: {err.strerror or err}'
    return None


def _once_writable(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return 'once there is room'
    if err.errno == errno.EFBIG:
        return 'where files of its size may be written (ulimit -f)'
    return 'once the work dir can be written'


def stop_line(runner: Runner, name: str) -> str:
    """Where the run stopped and what ``--resume`` continues from: SIGTERM
    (``kill``, a scheduler's preemption, ``docker stop``) stops it as Ctrl-C
    does, through its clean-up (the checkpoint being written is discarded,
    the loader's workers stopped); it died at once, saying nothing, its
    workers left running."""
    last = resumable_checkpoint(runner)
    within = _within_epoch(runner, last)
    if within:  # refused by --resume (ResumedScheduleCheckHook): name what resumes
        last = within
    if not isinstance(runner._train_loop, BaseLoop):
        where = 'before training'
    elif runner.message_hub.get_info('loop_stage') == 'val':
        # the epoch counter has moved on already: the epoch it validates is the last
        where = f'while validating epoch {runner.epoch}'
    else:
        where = f'at epoch {runner.epoch + 1}, {_iteration_in_epoch(runner)}'
    return (f'train.py: stopped by {said(name)} {where}; '
            + (f'{resume_advice(runner.work_dir, last)}.{_no_best_yet(runner)}' if last else
               'no checkpoint was saved yet.'))


def _no_best_yet(runner: Runner) -> str:
    """Where no epoch was validated yet (the shipped DLD configs validate
    at their last): no ``best.pth``, which the next stage's commands name,
    while the line named a checkpoint to go on from (a time-budget journey)."""
    hook = next((h for h in getattr(runner, 'hooks', ()) if getattr(h, 'save_best', None)),
                None)
    link = getattr(hook, 'best_link', None)
    if not link:
        return ''
    folder = getattr(hook, 'out_dir', None) or runner.work_dir
    if osp.lexists(osp.join(folder, link)):
        return ''
    return (f' No epoch was validated yet, so there is no {link}: the last checkpoint is '
            'the one to test or extract.')


def _note_earlier_run(cfg) -> None:
    """Say that a run starting afresh in a work dir of an earlier run's
    checkpoints replaces them as it saves (a second run did so silently)."""
    if cfg.get('resume'):
        return
    try:
        earlier = latest_checkpoint(cfg.work_dir)
    except OSError:
        return
    if earlier:
        # a shorter run replaces only the epochs it reaches: the earlier run's
        # later epoch_N.pth stayed beside its own, the newest file of the folder
        epochs = [n for n, _ in numbered_checkpoints(cfg.work_dir, 'epoch')]
        max_epochs = (cfg.get('train_cfg') or {}).get('max_epochs')
        stay = (f'; its epochs past this run\'s {max_epochs} (to epoch_{max(epochs)}.pth) '
                'and its best_*.pth stay beside this run\'s: give each run its own work dir'
                if epochs and isinstance(max_epochs, int) and max(epochs) > max_epochs
                else '')
        print_log(f'{cfg.work_dir} holds an earlier run\'s checkpoints ({osp.basename(earlier)}'
                  '): this run starts afresh and replaces them as it saves; --resume goes on '
                  f'from them instead{stay}', logger='current', level=logging.WARNING)


def resumable_checkpoint(runner: Runner) -> Optional[str]:
    """The checkpoint ``--resume`` would continue from: MMEngine records a
    save's file before writing it, so a stop or a full disk during that save
    left the name of a file that is not there."""
    last = runner.message_hub.get_info('last_ckpt')
    if last and osp.isfile(last):
        return last
    return latest_checkpoint(runner.work_dir)


def _within_epoch(runner, last: Optional[str]) -> Optional[str]:
    """Where ``last`` is an ``iter_N.pth`` saved before its epoch's end,
    which ``--resume`` refuses: the newest checkpoint beside it that
    resumes (:func:`~dld.engine.checkpoint.epoch_end_before`; None where
    ``last`` is none such, or no other resumes)."""
    # an epoch-based loop alone refuses it; and runner.train_loop builds a loop
    # not built yet (a stop before training: its training set read again)
    if not isinstance(runner._train_loop, EpochBasedTrainLoop):
        return None
    found = epoch_end_before(last)
    return found[0] if found else None


def _iteration_in_epoch(runner) -> str:
    """``iteration 5 of 10`` of the epoch, as MMEngine's log counts them (the
    run's count, 15, read as past the epoch's end); the run's count where the
    epoch's length is not known."""
    try:
        per_epoch = len(runner.train_loop.dataloader)
    except (AttributeError, TypeError, RuntimeError):
        per_epoch = 0
    inner = runner.iter - runner.epoch * per_epoch + 1
    if per_epoch and 1 <= inner <= per_epoch:
        return f'iteration {inner} of {per_epoch}'
    if per_epoch and inner == per_epoch + 1 and isinstance(
            getattr(runner, 'train_loop', None), EpochBasedTrainLoop):
        # 'iteration 9 of the run' of 8 an epoch: its end's hooks ran (a checkpoint saved)
        return f'as it ended, after its {per_epoch} iterations (its checkpoint, its hooks)'
    return f'iteration {runner.iter + 1} of the run'


if __name__ == '__main__':
    sys.exit(main())
