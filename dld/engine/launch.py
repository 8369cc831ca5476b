"""What the tools do before building the runner: read the config with the
command line's overrides, start the process group (also on CPU), and make
the data the config needs.

The tools start the process group themselves (the runner then reuses it) so
that rank 0 can prepare data while the others wait at a barrier before any
dataset is built. MMEngine 0.10's own path assumes CUDA (it calls
``torch.cuda.set_device`` and wraps the model with ``device_ids=[LOCAL_RANK]``);
on a machine without CUDA we use ``gloo`` and a CPU DDP wrapper instead, so
``torchrun --nproc-per-node N`` works for smoke tests and CPU clusters.
"""
import argparse
import copy
import datetime
import errno
import inspect
import logging
import os
import os.path as osp
import re
import sys
import time
import traceback
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Sequence

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import barrier, get_rank, init_dist, is_distributed
from mmengine.logging import print_log
from mmengine.runner import Runner

# kept light in dld.cli_options (a tool parses its arguments before torch loads); named
# here too, where the tools took them from
from dld.cli_options import add_runner_arguments, parse_runner_args  # noqa: F401
from dld.datasets.errors import (
    DataSourceError,
    ImageLoadError,
    PlateAnnotationError,
    RepeatedEvaluationError,
    RetryExhaustedError,
    SharedTrackIdError,
)
from dld.engine.checkpoint import CHECKPOINT_ERRORS
from dld.engine.dld_runner import DLDRunner
from dld.engine.hooks.label_check_hook import LabelCheckError
from dld.engine.runner_settings import (
    ConfigSettingError,
    check_runner_settings,
    drop_unset_default_hooks,
    warn_of_close_top_level_keys,
    warn_of_missing_default_hooks,
)
from dld.models.dictionary import DictionaryError
from dld.models.distillers.distiller_checks import InputSizeError, PartContractError
from dld.utils.config_errors import ConfigFileError
from dld.utils.config_file import merge_config_options, read_config
from dld.utils.config_option_keys import ConfigOptionError
from dld.utils.shown_paths import below, of_dld, where

#: Why a file a tool writes was refused that is no fault of the run's own: a
#: full disk or quota, a file size limit, a read-only file system (none of
#: which a read gives: an input refused its reader keeps its own error).
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def console_logger_current() -> None:
    """Make MMEngine's console logger (``'mmengine'``) the current one, as a
    tool starts. ``logger='current'`` is the last runner's logger while no
    other is made: in a notebook or a script of several runs, what a run said
    before its runner existed (its work dir holds an earlier run's
    checkpoints) went into the earlier run's log file and was missing from
    its own. For a tool's start only: made current while a run goes on, it
    would take that run's later lines off its log file."""
    from mmengine.logging import MMLogger
    from mmengine.utils.manager import _lock  # MMEngine's own, for its instances
    with _lock:
        MMLogger.get_instance('mmengine')  # made where it is not (then current already)
        MMLogger._instance_dict.move_to_end('mmengine')


def init_distributed(cfg: Config) -> None:
    """Start the process group for ``cfg.launcher``; no-op for ``'none'``.

    Without CUDA, the backend becomes ``gloo`` and ``cfg.model_wrapper_cfg``
    gets ``device_ids=None`` (what DDP wants for CPU modules).
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or is_distributed():
        return
    quiet_size_one_stride_warning()
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    if torch.cuda.is_available():
        init_dist(launcher, **dist_cfg)
        return

    if dist_cfg.get('backend', 'nccl') != 'gloo':
        print_log(f'No CUDA device: using the gloo backend instead of '
                  f'{dist_cfg.get("backend", "nccl")!r}.', logger='current',
                  level=logging.WARNING)
    dist_cfg['backend'] = 'gloo'
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher != 'pytorch':
        raise NotImplementedError(
            f'Distributed training without CUDA supports launcher "pytorch" '
            f'(torchrun), not {launcher!r}.')
    timeout = dist_cfg.pop('timeout', None)
    if timeout is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(**dist_cfg)


def quiet_size_one_stride_warning() -> None:
    """DDP's "Grad strides do not match bucket view strides ... may impair
    performance", 8 lines from every process of every run: the gradient of
    a 1x1 convolution's weight comes back with other strides on its size-1
    dimensions, the same layout in memory. Autograd has made every gradient
    take its parameter's layout (the "gradient layout contract" the warning
    names) before DDP sees it, save on such dimensions, which DDP compares
    and autograd does not."""
    warnings.filterwarnings('ignore', message='Grad strides do not match bucket view strides')


RUNNER_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _named_paths(node, data_root: Optional[str] = None) -> Iterator[str]:
    """Every string in a dataloader config, and each joined to the
    ``data_root`` of the dict it is in (an ``ann_file`` relative to it)."""
    if isinstance(node, dict):
        root = node.get('data_root')
        root = root if isinstance(root, str) else data_root
        for value in node.values():
            yield from _named_paths(value, root)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _named_paths(value, data_root)
    elif isinstance(node, str):
        yield node
        if data_root:
            yield osp.join(data_root, node)


def config_reads_folder(cfg: Config, folder: str,
                        loaders: Sequence[str] = RUNNER_DATALOADERS) -> bool:
    """Whether the dataloaders ``loaders`` (default the runner's three,
    ``train/val/test_dataloader``) name ``folder`` or anything in it: a
    ``data_root``, an ``ann_file``, an ``exclude_ann_files`` entry. True for
    a config that has none of them (a data-only config), so its set is
    still made."""
    loaders = [cfg.get(k) for k in loaders if cfg.get(k)]
    if not loaders:
        return True
    target = osp.normpath(osp.abspath(folder))
    for path in _named_paths(loaders):
        path = osp.normpath(osp.abspath(path))
        if path == target or path.startswith(target + os.sep):
            return True
    return False


def ensure_config_data(cfg: Config, loaders: Sequence[str] = RUNNER_DATALOADERS) -> None:
    """Generate the synthetic plates the config points at, if missing.

    A config that trains on generated data names it in a top-level
    ``synth_plates = dict(data_root=..., ...)``, and may name a second set
    its training split reads instead in ``train_synth_plates`` (a student
    cycle on plates it has never seen). Generating them before the runner
    builds the datasets lets a fresh clone run without a separate data step.
    A set that none of the runner's dataloaders reads (a config for data of
    one's own that inherits a shipped config) is not made; ``loaders``
    names the dataloaders the tool builds (a test, only the test set's).
    Call it on rank 0 only, then ``barrier()``.
    """
    for key in ('synth_plates', 'train_synth_plates'):
        synth = cfg.get(key)
        if not synth:
            continue
        from dld.datasets.synth import ensure_synth_plates, generate_synth_plates

        synth = dict(synth)
        if not config_reads_folder(cfg, synth.get('data_root', 'data/synth_plates'), loaders):
            # A config for data of one's own that inherits a shipped config
            # inherits its `synth_plates` too; rendering 1500 tracks (~290 MB)
            # into ./data for nothing would surprise its user.
            print_log(f'Not rendering the synthetic plates of `{key}` '
                      f'({synth.get("data_root")}): none of the dataloaders read here '
                      f'({", ".join(loaders)}) reads them.', logger='current')
            continue
        # A misspelt key would be a TypeError naming no config when the set
        # is missing, and only a "differs from the set on disk" warning when
        # it is there.
        known = set(inspect.signature(generate_synth_plates).parameters) - {'out_dir'}
        unknown = sorted(set(synth) - known - {'data_root'})
        if unknown:
            raise ConfigSettingError(f'{cfg.filename}: unknown key(s) {unknown} in `{key}`; '
                                     f'it takes data_root and {sorted(known)}.')
        if synth.get('degradation') is not None:
            # an out-of-range setting (refused since 2026-12-07; a set on disk
            # may have been rendered with it) in one line naming the key, not
            # a traceback from the generator's meta check
            from dld.datasets.degradation import DegradationConfig
            try:
                DegradationConfig.from_dict(synth['degradation'])
            except (ValueError, TypeError) as err:
                raise ConfigSettingError(f'{cfg.filename}: `{key}.degradation`: {err}') from None
        # ensure_synth_plates logs what it generates.
        if not ensure_synth_plates(**synth):
            print_log(f'Using the synthetic plates in {where(synth.get("data_root"))} '
                      f'(config `{key}`)', logger='current')


def load_runner_config(args: argparse.Namespace, training: bool = True) -> Config:
    """``args.config`` with ``--launcher``, ``--cfg-options`` and the work dir
    applied (default ``work_dirs/<config name>``); ``training``: for a
    training run (a test's config is checked for the hooks a test reads)."""
    cfg = read_config(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        merge_config_options(cfg, args.cfg_options, args.config)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    drop_persistent_workers_without_workers(cfg)
    drop_unset_default_hooks(cfg)
    warn_of_missing_default_hooks(cfg, training)
    check_runner_settings(cfg)
    warn_of_close_top_level_keys(cfg)
    return cfg


@contextmanager
def config_errors_exit(tool: str) -> Iterator[None]:
    """A setting refused before anything is built (a misspelt
    ``--cfg-options`` key, a loader key MMEngine would ignore) ends the tool
    with one line naming it and exit status 2, as ``tools/infer.py`` does,
    not with a traceback."""
    try:
        yield
    except (ConfigOptionError, ConfigSettingError, ConfigFileError) as err:
        refuse(f'{tool}: {err}')


@contextmanager
def build_errors_exit(tool: str, what: str = 'the config cannot be built: ') -> Iterator[None]:
    """A setting that a part of the runner refuses while it is built from
    the config (a loss weight below 0, a misspelt choice, an unknown type or
    argument, a teacher checkpoint that is not there) ends the tool with the
    error's words after ``what`` and exit status 2: the traceback would only
    show where in the package the check sits. ``DLD_TRACEBACK=1`` keeps the
    traceback."""
    try:
        yield
    except CHECKPOINT_ERRORS as err:  # a teacher's or an init_cfg's: the file is named
        if os.environ.get('DLD_TRACEBACK', '') not in ('', '0'):
            raise
        refuse(f'{tool}: {err}')
    except (ValueError, TypeError, KeyError, FileNotFoundError, RuntimeError) as err:
        # a RuntimeError is a bug's traceback, but for a size PyTorch refuses
        # as a layer is made (model.decoder.d_model=-1), a setting
        if os.environ.get('DLD_TRACEBACK', '') not in ('', '0') or \
                (type(err) is RuntimeError and not _refused_size(err)):
            raise
        # a KeyError's str() quotes its message; DLD's hinted ones do not
        text = str(err.args[0]) if type(err) is KeyError and err.args else str(err)
        text = _said_of_missing_type(text)
        # where it was raised: a bug's line is diagnosable without a rerun;
        # inside an installed library (MMEngine's registry), the last line of
        # DLD's or the user's code that called it says more
        frames = traceback.extract_tb(err.__traceback__)
        ours = [f for f in frames if not _installed(f.filename)]
        frame = (ours or frames)[-1]
        # the tool's own line (the call into MMEngine's registry, which
        # raised it) says nothing of the config
        # nor does the line that built a mistyped type (the hint names the config's)
        at = ('' if osp.basename(frame.filename) == tool or _config_typo(err) else
              f' at {below(frame.filename)}:{frame.lineno}')
        refuse(f'{tool}: {what}{text} ({type(err).__name__}{at}; DLD_TRACEBACK=1 shows the '
               'traceback)')
    except ImportError as err:  # a tracker's package (TensorboardVisBackend's) not installed
        if os.environ.get('DLD_TRACEBACK', '') not in ('', '0'):
            raise
        refuse(f'{tool}: {what}{err} ({type(err).__name__}; DLD_TRACEBACK=1 shows the '
               'traceback)')


def _refused_size(err: RuntimeError) -> bool:
    """Whether ``err`` is PyTorch refusing a layer's size (a width, a
    ``d_model`` or a head count below 0 in the config), not a bug."""
    return str(err).startswith('Trying to create tensor with negative dimension')


#: MMEngine's registry's words for a part built without a ``type``.
_NO_TYPE = '`cfg` or `default_args` must contain the key "type", but got '


def _said_of_missing_type(text: str) -> str:
    """MMEngine's refusal of a part without ``type``, with why that
    happens (a ``_delete_=True`` drops the base's ``type`` too; an option
    that adds a part the config has not) and without its ``default_args``
    line (a bare ``None``)."""
    if not text.startswith(_NO_TYPE):
        return text
    part, _, defaults = text[len(_NO_TYPE):].rpartition('\n')
    if defaults != 'None':
        part = f'{part}\n{defaults}' if part else defaults
    return (f'a part of the config has no `type`: {part}; `_delete_=True` drops the type of '
            'the base it replaces too (give it again), and a --cfg-options key under a part '
            'the config does not set makes one without a type')


#: Bad data or a dictionary that cannot be built as given, found while the
#: runner is built or runs.
_DATA_ERRORS = (PlateAnnotationError, ImageLoadError, RetryExhaustedError, DictionaryError,
                LabelCheckError, SharedTrackIdError, RepeatedEvaluationError, DataSourceError,
                InputSizeError, PartContractError)


@contextmanager
def data_errors_exit(tool: str, check: Optional[str] = None) -> Iterator[None]:
    """Bad data found while the runner runs (a label line with a character
    outside the dictionary, a test image missing or corrupt) ends the tool
    with the error's one line, which names the file and its line, and exit
    status 2, rather than with a long traceback through MMEngine. ``check``:
    the command that lists every bad label line at once
    (:func:`data_check_command`), said after a refused one: a run stops at
    the first, one fix a run."""
    try:
        yield
    except (*_DATA_ERRORS, RuntimeError) as err:
        message = data_error_message(err)
        if message is None:
            raise
        label = isinstance(err, PlateAnnotationError)  # read as the set is built
        refuse(f'{tool}: {message}' + (f' ({check})' if check and label else ''))


def data_check_command(args: argparse.Namespace, loops: Sequence[str]) -> str:
    """What runs ``tools/analysis/check_data.py`` on the sets of ``loops``
    of the tool's config (``args.config``), the list of every bad line."""
    import shlex
    splits = ' '.join(LOOP_SPLITS[loop] for loop in loops)
    command = (f"python {of_dld('tools/analysis/check_data.py')} {shlex.quote(args.config)} "
               f'--splits {splits} lists every bad line at once')
    return command + ("; add this run's --cfg-options" if getattr(args, 'cfg_options', None)
                      else '')


def _config_typo(err: BaseException) -> bool:
    """Whether ``err`` is a mistyped type or argument of the config, hinted
    (:mod:`dld.utils.registry_hints`): where in DLD it was built says nothing."""
    from dld.utils.registry_hints import UnknownArgumentError, UnknownTypeError
    return isinstance(err, (UnknownTypeError, UnknownArgumentError))


def _installed(filename: str) -> bool:
    """Whether ``filename`` is an installed library's (site-packages, the
    standard library), not DLD's or a project's."""
    import sysconfig

    import dld
    path = osp.abspath(filename)
    if path.startswith(osp.dirname(osp.abspath(dld.__file__)) + os.sep):
        return False  # DLD's, installed or not
    parts = path.split(os.sep)
    return ('site-packages' in parts or 'dist-packages' in parts
            or path.startswith(sysconfig.get_paths()['stdlib'] + os.sep))


def refuse(line: str) -> None:
    """End the tool with ``line`` on stderr and exit status 2, the line
    also in the run's log file where there is one (the file held the run's
    start and then nothing of why it stopped)."""
    last_line(line, logging.ERROR)
    sys.exit(2)


@contextmanager
def stopped_in_one_line(runner, line: Callable[[str], str]) -> Iterator[None]:
    """Ctrl-C, SIGTERM (a job's time limit, ``kill``, a scheduler's
    preemption) or SIGHUP (a closed terminal; ``nohup`` keeps it ignored)
    ends the tool through its clean-up with ``line(signal name)``, printed
    by the first process only (and kept in the log file), and the shell's
    status for the signal (130, 143, 129). A loader worker killed by a SIGTERM to the
    process group is the same stop (its exit code tells)."""
    from dld.utils.stop_signals import signals_as_one_stop, stop_signal, stop_status

    from .hooks.loader_workers_stop_hook import loader_worker_exit_codes
    with signals_as_one_stop(hangup=True) as stopping:
        try:
            yield
        # OSError: a write to the closed terminal (EIO) before its SIGHUP came, the
        # same stop (stop_signal tells); the SIGHUP after it is a hang-up again
        except (KeyboardInterrupt, RuntimeError, OSError) as err:
            name = stop_signal(err, loader_worker_exit_codes(runner))
            if name is None:
                raise
            stopping.append(name)  # a signal arriving now is the same stop
            if get_rank() == 0:  # one line, not one per process under torchrun
                last_line(line(name))
            sys.exit(stop_status(name))


#: gloo's words for a process of the run that is gone (it exited: a refusal,
#: a bad image), met by the others in their next collective.
_PEER_GONE = re.compile(r'Connection (?:closed|reset) by peer')


@contextmanager
def peer_loss_exit(tool: str) -> Iterator[None]:
    """A process of a distributed run whose peer ended first (its one-line
    refusal, a data error) ends with exit status 1: quietly under the
    launcher (:mod:`dld.dist_launch`), where another process kept
    its line, with one line of its own under plain torchrun. It printed
    gloo's traceback of some 30 lines, before or after the line that said
    why. A peer gone without a word (a network failure) keeps the error.
    Usable as a decorator of a tool's ``main``."""
    try:
        yield
    except RuntimeError as err:
        if int(os.environ.get('WORLD_SIZE', '1')) < 2 or not _PEER_GONE.search(str(err)) \
                or os.environ.get('DLD_TRACEBACK', '') not in ('', '0'):
            raise
        from dld.dist_launch import LINES_ENV, another_process_said
        folder = os.environ.get(LINES_ENV)
        if folder and not another_process_said(folder):
            raise  # a network failure, or a peer killed without a word: its only trace
        if not folder:  # plain torchrun: nobody else says it
            print(f"{tool}: another process of the run ended first (its line, where it said "
                  f"one, says why); process {os.environ.get('RANK', '?')} stopped with it",
                  file=sys.stderr, flush=True)
        sys.exit(1)


def last_line(line: str, level: int = logging.WARNING) -> None:
    """Print a tool's last ``line`` (why it ends) on stderr and write it into
    the run's log file too, where there is one.

    Under ``tools/dist_train.sh`` and ``dist_test.sh`` every process keeps
    it in a file of the launcher's (:mod:`dld.dist_launch`) and only
    the first prints it; the launcher prints another's where that process
    failed first (every process printed the same line)."""
    from mmengine.logging import MMLogger

    from dld.dist_launch import keep_for_launcher
    logger = MMLogger.get_current_instance()  # a run's, with its file, once it is made
    for handler in logger.handlers:  # first: a closed terminal's stderr fails (SIGHUP)
        if isinstance(handler, logging.FileHandler):
            _emit_or_skip(handler, logger.makeRecord(logger.name, level, __file__, 0, line,
                                                     None, None))
    if not keep_for_launcher(line):
        try:
            print(line, file=sys.stderr, flush=True)
        except OSError:  # a terminal gone (EIO): the log file holds it
            pass


def _emit_or_skip(handler: logging.Handler, record: logging.LogRecord) -> None:
    """``handler.emit(record)``, where its file can take it. Why: the line
    often says that the disk is full, and the log file is on that disk:
    logging's own report of the failed write, a ``--- Logging error ---``
    traceback of 40 lines, came before the one line."""
    handler.handleError = lambda record: None  # the line goes to stderr still
    try:
        handler.emit(record)
    finally:
        del handler.handleError


def build_data_loops(runner, tool: str, loops: Sequence[str],
                     args: Optional[argparse.Namespace] = None) -> None:
    """Build the runner's ``loops`` (``'train_loop'``, ...) and so their
    datasets now, where a set refused as it is built ends the tool with one
    line: a label file that is not there, or a setting the set refuses
    (``load_hr=False`` under a pipeline that reads HR frames). MMEngine
    builds them inside ``runner.train()``, where such errors were a
    traceback of hundreds of lines; it reuses the loops built here.
    ``args`` (the tool's, its ``config``): a refused label line names the
    ``check_data.py`` command that lists them all."""
    from dld.utils.registry_hints import registry_hints
    check = data_check_command(args, loops) if args is not None else None
    for loop in loops:
        what = LOOP_PARTS.get(loop, loop)
        # registry_hints: a mistyped dataset, metric or sampler type names
        # the close ones, as a mistyped model or hook type does
        with build_errors_exit(tool, f'the {what} cannot be built: '), registry_hints(), \
                data_errors_exit(tool, check):
            getattr(runner, loop)


#: What each loop is built from, as its refusal names it.
LOOP_PARTS = dict(train_loop='training loop (train_dataloader, train_cfg)',
                  val_loop='validation loop (val_dataloader, val_evaluator, val_cfg)',
                  test_loop='test loop (test_dataloader, test_evaluator, test_cfg)')
#: The split of each loop, as ``tools/analysis/check_data.py --splits`` names it.
LOOP_SPLITS = dict(train_loop='train', val_loop='val', test_loop='test')


def check_teacher_gets_hr(runner, tool: str) -> None:
    """A DLD teacher that reads HR frames, trained on a set that gives none
    (``load_hr=False``, which an LR-only track's error suggests for models
    that read LR only), failed in the first step with a traceback: one line
    now, naming the set. So do HR crops of another size than the model's
    ``base_size``, which the distiller refuses at the first step."""
    from mmengine.model import is_model_wrapper

    from dld.datasets import nested_datasets
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if getattr(model, 'teacher_input', None) != 'hr':
        return
    for dataset in nested_datasets(runner.train_dataloader.dataset):
        loader = getattr(dataset, '_image_loader', lambda: None)()
        gives = getattr(dataset, 'load_hr', getattr(dataset, 'with_hr', True))
        # with_hr=None: HR frames where the set gives them
        if not gives or loader is not None and loader.with_hr is False:
            source = getattr(dataset, 'ann_file', '') or getattr(dataset, 'data_root', '')
            setting = ('its LoadPlateImages has with_hr=False' if gives else
                       'load_hr=False' if hasattr(dataset, 'load_hr') else 'with_hr=False')
            refuse(f'{tool}: the DLD teacher reads the HR frames, but the training set '
                   f'{type(dataset).__name__}({source}) gives none ({setting}): give the '
                   "tracks' HR frames and drop that setting")
        # the model says it at the first step, with a traceback
        base = tuple(getattr(model, 'base_size', ()))
        for resize in getattr(getattr(dataset, 'pipeline', None), 'transforms', ()):
            hr_size = getattr(resize, 'hr_size', None)
            if type(resize).__name__ == 'ResizePair' and base and tuple(hr_size) != base:
                from dld.models.distillers.distiller_checks import HR_SIZE_REASON
                refuse(f"{tool}: the training pipeline's ResizePair gives the teacher HR crops "
                       f'of {hr_size[0]}x{hr_size[1]}, but model.base_size={base}: '
                       f'{HR_SIZE_REASON}')


def check_inputs_of_base_size(runner, tool: str, loops: Sequence[str]) -> None:
    """Refuse a DLD model whose ``loops`` (built: ``'train_loop'``,
    ``'val_loop'``) resize its input to another size than ``base_size``:
    the distiller refuses such inputs when it reads them, which for a
    validation set of the old size was after a whole epoch of training."""
    from mmengine.model import is_model_wrapper

    from dld.apis.scaled_prediction import pipeline_input_size
    from dld.datasets import nested_datasets
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    base = tuple(getattr(model, 'base_size', None) or ())
    if not base or getattr(model, 'teacher_input', None) is None:  # a distiller's rule
        return
    for name in loops:
        loop = getattr(runner, name, None)
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        if dataset is None:
            continue
        for part in nested_datasets(dataset):
            transforms = getattr(getattr(part, 'pipeline', None), 'transforms', ())
            stream = next((t.main_stream for t in transforms if hasattr(t, 'main_stream')),
                          'lr')
            size = pipeline_input_size(transforms, stream)
            if size is not None and tuple(size) != base:
                source = getattr(part, 'ann_file', '') or getattr(part, 'data_root', '')
                refuse(f"{tool}: the {LOOP_PARTS.get(name, name).split(' (')[0]}'s pipeline "
                       f'({type(part).__name__}({source})) resizes the model\'s input to '
                       f'{size[0]}x{size[1]}, but model.base_size={base}, what scale 1.0 '
                       f"means: set that pipeline's ResizePair {stream}_size={base}")


def data_error_message(err: BaseException) -> Optional[str]:
    """The message of a data error, also one raised in a data loader worker
    (which PyTorch raises again as a RuntimeError holding the worker's
    traceback, since our errors take more than one argument); None for any
    other error."""
    text = str(err)
    if not text.startswith('Caught '):
        return text if isinstance(err, _DATA_ERRORS) else None
    caught = text.split(' ', 2)[1]
    if caught not in _error_names(_DATA_ERRORS):
        return None
    # The worker's traceback ends with "<module>.<Name>: <message>", which
    # may run over several lines (the items a retry tried, notes); chained
    # errors come before it.
    lines = text.splitlines()
    start = re.compile(rf'^(\w+\.)*{re.escape(caught)}: ')
    found = [i for i, line in enumerate(lines) if start.match(line)]
    if not found:
        return None
    first = lines[found[-1]]
    message = [first[start.match(first).end():]] + lines[found[-1] + 1:]
    return '\n'.join(message).rstrip()


def _error_names(classes) -> set:
    """The names of ``classes`` and of every subclass of theirs."""
    names = set()
    for cls in classes:
        names |= {cls.__name__} | _error_names(cls.__subclasses__())
    return names


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """``persistent_workers=False`` where a loader reads in the main process.

    Why: DLD's dataset configs keep their workers alive, and PyTorch refuses
    ``persistent_workers`` without workers, so ``--cfg-options
    train_dataloader.num_workers=0`` (to debug a transform, say) failed
    unless ``persistent_workers=False`` was set with it.
    """
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if (isinstance(loader, dict) and loader.get('num_workers', 0) == 0
                and loader.get('persistent_workers')):
            loader['persistent_workers'] = False
            print_log(f'{name}: num_workers=0, so persistent_workers=False.',
                      logger='current')


def start_processes(cfg: Config) -> None:
    """The process group (the runner reuses it), started before the runner
    is built; :func:`make_run_data` then makes the data."""
    if cfg.get('randomness', {}).get('deterministic'):
        # cuBLAS is deterministic only with a fixed workspace; PyTorch
        # raises at the first CUDA matmul without it.
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    init_distributed(cfg)


def make_run_data(cfg: Config, loaders: Sequence[str] = RUNNER_DATALOADERS) -> None:
    """Rank 0 makes the data the dataloaders ``loaders`` read while the
    others wait, once the processes are started (:func:`start_processes`)
    and the model is built (a tool that can refuse its checkpoint first does
    so before minutes of rendering)."""
    if get_rank() == 0:
        ensure_config_data(cfg, loaders)
    barrier()


def unwritable_work_dir(work_dir: str, config_file: Optional[str] = None,
                        resume: bool = False) -> Optional[str]:
    """Why the run cannot write its work dir (logs, checkpoints), or None:
    MMEngine failed making its log folder with a traceback (a read-only
    mount, a path through a file), and replaced ``config_file`` (the config
    read) with its flattened dump where the work dir was the config's folder.
    A ``resume`` from a work dir's own config, edited (a comment, more
    epochs), rewrites it as before: only a config that inherits (``_base_``)
    would lose what it is."""
    if osp.exists(work_dir) and not osp.isdir(work_dir):  # 'File exists', said so
        return f'the work dir {work_dir} is a file, not a folder; give another with --work-dir'
    replaced = config_file and _dump_replaces_config(work_dir, config_file)
    if replaced and (replaced == 'inherits' or not resume):
        stem = osp.splitext(osp.basename(config_file))[0]
        lost = 'its _base_ and comments' if replaced == 'inherits' else 'its comments and layout'
        return (f'the work dir {work_dir} holds the config being read, {config_file}: a run '
                'writes its whole config into its work dir under that name, which would '
                f'replace yours ({lost}); give another work dir with --work-dir, e.g. '
                f'work_dirs/{stem}')
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as err:
        return f'cannot make the work dir {work_dir}: {err.strerror}; give another with --work-dir'
    if not os.access(work_dir, os.W_OK | os.X_OK):
        return (f'cannot write in the work dir {work_dir} (read-only?); give another with '
                '--work-dir')
    return None


def _dump_replaces_config(work_dir: str, config_file: str) -> Optional[str]:
    """Whether MMEngine's dump of the config (``<work_dir>/<its name>``)
    would be written over ``config_file`` itself, where that file is no
    such dump (a dump read again and rewritten loses nothing): ``'inherits'``
    for a config with ``_base_``, ``'differs'`` for another, else None."""
    dump = osp.join(work_dir, osp.basename(config_file))
    try:
        if not osp.isfile(dump) or not osp.samefile(dump, config_file):
            return None
        with open(config_file, encoding='utf-8') as f:
            text = f.read()
        if Config.fromfile(config_file).dump() == text:
            return None
        return 'inherits' if '_base_' in text else 'differs'
    except Exception:  # unreadable here: the config's own loading says why
        return None


def finish_run() -> None:
    """Leave the process group together, once the run has finished.

    Why: a rank that exits while another still uses the group (rank 0
    saving the best checkpoint after the last validation, say) tears down
    gloo's threads mid-use and aborts at interpreter exit ("terminate called
    without an active exception", exit code -6), failing a run that
    finished; torchrun then kills the other ranks too.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        barrier()
        torch_dist.destroy_process_group()


def distinct_experiment_name(cfg: Config) -> Optional[str]:
    """An ``experiment_name`` no runner of this process has, where the one
    MMEngine would choose for ``cfg`` is taken; None where it is free.

    Why: MMEngine names a run ``<config>_<second it started>`` and keys its
    logger, visualizer and message hub by that name, so a second run built
    in the same second (a sweep of small runs in one script or notebook)
    got the first's: its log and scalars went into the first run's work
    dir, with the first's console settings.
    """
    from mmengine.logging import MMLogger
    base = cfg.get('experiment_name')
    if base is None and cfg.filename:
        base = osp.splitext(osp.basename(cfg.filename))[0]
    # the second MMEngine will stamp is this one or a later one, never taken
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())

    def taken(name: Optional[str]) -> bool:
        return MMLogger.check_instance_created(f'{name}_{stamp}' if name else stamp)

    if not taken(base):
        return None
    number = 2
    while taken(f'{base}_{number}' if base else str(number)):
        number += 1
    return f'{base}_{number}' if base else str(number)


def runner_from_cfg(cfg: Config, brief: bool = False) -> Runner:
    """``Runner.from_cfg(cfg)``, under a name no runner of this process has
    (:func:`distinct_experiment_name`); with ``brief``, one whose terminal
    shows no set-up text (:mod:`dld.engine.brief_console`), said in one
    line."""
    name = distinct_experiment_name(cfg)
    if name is not None:
        cfg = copy.deepcopy(cfg)  # the caller's config keeps its name
        cfg.experiment_name = name
    if not brief:
        return DLDRunner.from_cfg(cfg)  # a log file in UTF-8, whatever the locale's
    from .brief_console import BriefConsoleRunner, setup_text_line
    runner = BriefConsoleRunner.from_cfg(cfg)
    print_log(setup_text_line(runner), logger='current')
    return runner
