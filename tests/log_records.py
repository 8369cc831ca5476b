"""What the current MMEngine logger logs, as records, for tests that check it."""
import contextlib
import logging
from typing import Iterator, List

from mmengine.logging import MMLogger


@contextlib.contextmanager
def current_log_records() -> Iterator[List[logging.LogRecord]]:
    """The records the current logger emits inside the block, in order."""
    records: List[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
