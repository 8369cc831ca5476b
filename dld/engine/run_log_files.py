"""A runner's log file, closed when the runner is gone.

MMEngine keeps every runner's logger (by name) for the process's life, its
log file open: a notebook or a sweep that built runners one after another
kept one file descriptor per run (1024 by default: a long sweep ran out).
"""
import logging
import os
import os.path as osp
import threading
import weakref
from typing import Dict

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


def close_log_files_with(runner, logger: logging.Logger, log_file: str) -> None:
    """Close ``logger``'s log files when ``runner`` is gone, unless another
    live runner shares the logger; a logger no live runner holds (its last
    runner gone) gets its file handlers back, on ``log_file`` (the
    callback holds no runner)."""
    with _runners_of_logger_lock:
        if id(logger) not in _runners_of_logger:  # no runner of it lives
            _reopen_file_handlers(logger, log_file)
        _runners_of_logger[id(logger)] = _runners_of_logger.get(id(logger), 0) + 1
    weakref.finalize(runner, _runner_gone, logger)
