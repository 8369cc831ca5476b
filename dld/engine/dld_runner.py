"""The runner DLD's tools build (:func:`dld.engine.launch.runner_from_cfg`):
MMEngine's, with two differences a run needs.

* Its log file is UTF-8, whatever the locale's encoding. MMEngine opens it
  in the locale's (a plain ``logging.FileHandler``): on Windows (cp1252) a
  Chinese plate's label named in a warning, or a config's comment in the
  set-up text, was a ``--- Logging error ---`` traceback on the terminal and
  a line missing from the log.
* Its work dir is let go however ``train()`` ends. The checkpoint hook
  holds it from the start of training and lets it go in ``after_train``,
  which a run that raised never reached: in a notebook whose run failed or
  was interrupted, the work dir stayed held for the kernel's life, and
  ``tools/train.py --resume`` there was refused as "still running".
* Its log file is closed when the runner is gone. MMEngine keeps every
  runner's logger for the process's life, its log file open: a notebook or
  a sweep that built runners one after another kept one file descriptor
  per run (1024 by default: a long sweep ran out).
"""
import contextlib
import copy
import logging
import os
import os.path as osp
import threading
import weakref
from typing import Dict, Optional

import torch
from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from .work_dir_lock import release_work_dir


def utf8_file_handlers(logger: logging.Logger) -> None:
    """Reopen ``logger``'s file handlers in UTF-8 (appending), before
    anything is written to them."""
    for handler in logger.handlers:
        if not isinstance(handler, logging.FileHandler) or \
                (handler.encoding or '').lower().replace('-', '') == 'utf8':
            continue
        handler.acquire()
        try:
            if handler.stream is not None:
                handler.stream.close()
            handler.encoding, handler.mode = 'utf-8', 'a'
            handler.stream = handler._open()
        finally:
            handler.release()


@contextlib.contextmanager
def atomic_config_dumps():
    """``Config.dump(file)`` writes ``file`` whole or not at all in the
    block (:func:`~dld.utils.atomic_file.write_text_atomic`). Why: MMEngine
    writes the work dir's copy of the config and ``vis_data/config.py``
    with a plain ``open('w')``; a full disk left them cut short (4096 of
    15634 bytes), a config copy that no longer loads, or one that loads
    other settings, beside the run; where the config run is that very copy
    (``tools/train.py work_dirs/x/x.py --resume``), the only copy."""
    global _atomic_dumps
    with _atomic_dumps_lock:  # runners built in threads at once: one patch, undone by the last
        if _atomic_dumps == 0:
            Config.dump = _atomic_dump
        _atomic_dumps += 1
    try:
        yield
    finally:
        with _atomic_dumps_lock:
            _atomic_dumps -= 1
            if _atomic_dumps == 0:
                Config.dump = _plain_dump


_plain_dump = Config.dump
_atomic_dumps = 0
_atomic_dumps_lock = threading.Lock()


def _atomic_dump(self, file=None):
    """:meth:`Config.dump` that writes a file whole or not at all."""
    from dld.utils.atomic_file import write_file_atomic
    if file is None:
        return _plain_dump(self, file)
    file = str(file)
    if file.endswith('.py'):
        text = self.pretty_text
    else:
        from mmengine.fileio import dump as dump_text
        text = dump_text(self.to_dict(), file_format=file.split('.')[-1])
    # a pickle's is bytes (write_text_atomic refused it: TypeError)
    data = text.encode('utf-8') if isinstance(text, str) else text
    write_file_atomic(file, lambda f: f.write(data))


#: PyTorch's determinism settings as they were before a runner of this
#: process with ``randomness.deterministic=True`` turned them on (None: no
#: such runner since). MMEngine turns them on for such a run and never off,
#: so a later run of the process (a notebook) with ``deterministic=False``
#: ran with deterministic kernels all the same (slower; on CUDA, errors or
#: warnings on ops that have none).
_before_deterministic: Optional[tuple] = None


def _determinism_state() -> tuple:
    return (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)


def _restore_determinism(state: tuple) -> None:
    torch.use_deterministic_algorithms(state[0], warn_only=state[1])
    torch.backends.cudnn.deterministic = state[2]
    # on too where this runner's env_cfg.cudnn_benchmark turned it on (setup_env, just before)
    torch.backends.cudnn.benchmark = state[3] or torch.backends.cudnn.benchmark


#: live runners per logger: two runners built under one name (in one
#: second, without :func:`~dld.engine.launch.runner_from_cfg`) share it
_runners_of_logger: Dict[int, int] = {}


#: the file handlers closed with their runners, per logger: a runner built
#: later under the same name gets MMEngine's logger back without them
_closed_file_handlers: Dict[int, list] = {}
_runners_of_logger_lock = threading.RLock()  # a finalizer may run in a collection inside it


def _runner_gone(logger: logging.Logger) -> None:
    with _runners_of_logger_lock:
        left = _runners_of_logger.pop(id(logger), 1) - 1
        if left > 0:
            _runners_of_logger[id(logger)] = left
            return
        closed = close_file_handlers(logger)
        if closed:
            _closed_file_handlers[id(logger)] = closed


def close_file_handlers(logger: logging.Logger) -> list:
    """Close and remove ``logger``'s file handlers (its log file); the
    console's are kept. A closed ``FileHandler`` left on the logger would
    reopen its file on the next record. Returns the handlers closed."""
    closed = []
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()
            closed.append(handler)
    return closed


def _reopen_file_handlers(logger: logging.Logger, log_file: str) -> None:
    """Give ``logger`` back the file handlers :func:`_runner_gone` closed,
    writing to ``log_file`` (this runner's): a runner built under the name of
    one that is gone (two runs in one second) gets MMEngine's logger as the
    first left it, and logged to no file at all."""
    closed = _closed_file_handlers.pop(id(logger), None)
    if not closed or any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        return
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    for old in closed:
        # one handler (rank 0's file): this runner's; several (distributed
        # logs of ranks): each file's name, in this runner's log folder
        name = log_file if len(closed) == 1 else osp.join(
            osp.dirname(log_file), osp.basename(old.baseFilename))
        handler = logging.FileHandler(name, 'a', encoding='utf-8')
        handler.setFormatter(old.formatter)
        handler.setLevel(old.level)
        for f in old.filters:
            handler.addFilter(f)
        logger.addHandler(handler)


class DLDRunner(Runner):
    """:class:`~mmengine.runner.Runner` with its log file in UTF-8 and its
    work dir let go however training ends.

    Locks are the process's: a process trains one run at a time (two
    runners training at once in one process's threads, in one work dir,
    are not told apart, and the first to end lets go of it)."""

    def __init__(self, *args, **kwargs) -> None:
        with atomic_config_dumps():  # the work dir's and the visualizer's copies
            super().__init__(*args, **kwargs)

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        utf8_file_handlers(logger)
        # MMEngine keeps the logger (by name) for the process's life: its log
        # file is let go with the runner (the callback holds no runner)
        with _runners_of_logger_lock:
            if id(logger) not in _runners_of_logger:  # no runner of it lives
                log_file = kwargs.get('log_file') or (args[1] if len(args) > 1 else None)
                _reopen_file_handlers(logger, log_file or osp.join(self._log_dir,
                                                                   f'{self.timestamp}.log'))
            _runners_of_logger[id(logger)] = _runners_of_logger.get(id(logger), 0) + 1
        weakref.finalize(self, _runner_gone, logger)
        return logger

    def set_randomness(self, seed, diff_rank_seed: bool = False,
                       deterministic: bool = False) -> None:
        """MMEngine's, undoing what an earlier deterministic runner of the
        process set when this one is not deterministic (a user's own
        setting, made before any such runner, is kept)."""
        global _before_deterministic
        if deterministic and _before_deterministic is None:
            _before_deterministic = _determinism_state()
        elif not deterministic and _before_deterministic is not None:
            _restore_determinism(_before_deterministic)
            _before_deterministic = None
        if deterministic:  # as tools/train.py does (start_processes): cuBLAS needs it
            os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
        super().set_randomness(seed, diff_rank_seed=diff_rank_seed,
                               deterministic=deterministic)
        if deterministic:
            # MMEngine makes every op without a deterministic kernel an error:
            # on CUDA the distiller's bilinear and CTC backward passes have
            # none: they warn, naming themselves, and the rest stay deterministic
            torch.use_deterministic_algorithms(True, warn_only=True)

    @master_only
    def dump_config(self) -> None:
        """MMEngine's, with the seed the run goes with: where the config
        leaves it to chance (``randomness.seed=None``) the work dir's copy
        said None, and ran again drew another seed (logged as ``seed: N``
        only); a resume's is its checkpoint's (dumped again then)."""
        randomness = self.cfg.get('randomness') or {}
        with atomic_config_dumps():  # whole or not at all (a full disk)
            if self.seed is None or randomness.get('seed') == self.seed:
                return super().dump_config()
            cfg = copy.deepcopy(self.cfg)
            cfg.randomness = dict(randomness, seed=self.seed)
            filename = (osp.basename(cfg.filename) if cfg.filename is not None
                        else f'{self.timestamp}.py')
            cfg.dump(osp.join(self.work_dir, filename))

    def train(self):
        # before the loop and its sampler are built (MMEngine builds them
        # before any hook runs): a resume takes its checkpoint's seed
        from .hooks.start_checkpoint_check_hook import check_run_start
        #: train() calls of this runner: a second one goes on from where the
        #: first stopped (ResumedScheduleCheckHook says what that means)
        self.train_calls = getattr(self, 'train_calls', 0) + 1
        try:
            check_run_start(self)
            return super().train()
        finally:  # a folder this process does not hold is let alone
            for hook in self.hooks:
                out_dir = getattr(hook, 'out_dir', None)  # the checkpoint hook's
                if isinstance(out_dir, str):
                    release_work_dir(out_dir)
            release_work_dir(self.work_dir)
