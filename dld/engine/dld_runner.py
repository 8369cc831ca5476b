"""The runner DLD's tools build (:func:`dld.engine.launch.runner_from_cfg`):
MMEngine's, with the differences a run needs.

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
* Its log file is closed when the runner is gone
  (:mod:`dld.engine.run_log_files`), and the config copies it writes are
  whole or absent (:mod:`dld.utils.atomic_config_dump`).
"""
import copy
import logging
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import master_only
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from dld.utils.atomic_config_dump import atomic_config_dumps

from .run_log_files import close_log_files_with
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
        log_file = kwargs.get('log_file') or (args[1] if len(args) > 1 else None)
        close_log_files_with(self, logger,
                             log_file or osp.join(self._log_dir, f'{self.timestamp}.log'))
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
