"""A runner whose log file is UTF-8, whatever the locale's encoding.

MMEngine opens the run's log file in the locale's encoding (a plain
``logging.FileHandler``): on Windows (cp1252) a Chinese plate's label named
in a warning, or a config's comment in the set-up text, was a ``--- Logging
error ---`` traceback on the terminal and a line missing from the log.
"""
import logging

from mmengine.logging import MMLogger
from mmengine.runner import Runner


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


class Utf8LogRunner(Runner):
    """:class:`~mmengine.runner.Runner` with its log file in UTF-8."""

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        utf8_file_handlers(logger)
        return logger
