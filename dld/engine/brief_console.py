"""A runner that keeps its set-up text off the terminal, in its log file.

Why: MMEngine logs the system environment, the whole config and the hook
order at every start, some 900 lines for a DLD config (750 for a
recognizer's), on the terminal as in the log file. A script of several runs (the quickstart)
buried its steps' progress under them: a newcomer counted 1,750 lines.
"""
import logging

from mmengine.logging import MMLogger
from mmengine.runner import Runner

from .dld_runner import DLDRunner

#: How the set-up messages begin (mmengine.runner.Runner's ``_log_env`` and
#: ``__init__``).
SETUP_MESSAGES = ('System environment:', 'Config:\n', 'Hooks will be executed in the following')


class SetupTextFilter(logging.Filter):
    """Drop the runner's set-up messages from the handler it filters."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage().lstrip('\n-')
        return not message.startswith(SETUP_MESSAGES)


class BriefConsoleRunner(DLDRunner):
    """:class:`~mmengine.runner.Runner` whose terminal shows no set-up text:
    its log file (UTF-8) keeps it whole, which :func:`setup_text_line` names."""

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            # a FileHandler is a StreamHandler too; the file keeps everything
            if isinstance(handler, logging.StreamHandler) and \
                    not isinstance(handler, logging.FileHandler):
                handler.addFilter(SetupTextFilter())
        return logger


def setup_text_line(runner: Runner) -> str:
    """Where the set-up text that was not shown is."""
    where = getattr(runner.logger, 'log_file', None) or runner.log_dir
    return f'The run\'s system environment, config and hook order are in {where} (--brief).'
