"""Checks of the labels on disk against the model, before the first step."""
import logging
from typing import Any, List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log

from dld.utils.flags import check_flag
from dld.utils.listing import lines_and_more


class LabelCheckError(ValueError):
    """Training labels the model cannot learn as written; the tools end with
    its message (the labels and their lines), not a traceback."""


#: ``(annotation, what is wrong with its label)``, e.g. ``('a.txt:3', "'AB-1': ...")``.
Finding = Tuple[str, str]


class LabelCheckHook(Hook):
    """Training labels the model cannot learn as written stop the run before
    its first step, naming their annotations; validation and test labels
    only warn (each is an honest misread; a test said nothing of them).

    Subclasses say what the model allows (:meth:`model_limits`, None: nothing
    to check), which labels break it (:meth:`find`) and how to say so.

    Args:
        check_val (bool): also warn about validation and test labels.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_val: bool = True) -> None:
        self.check_val = check_flag(check_val, f'{type(self).__name__}.check_val')

    def before_train(self, runner) -> None:
        limits = self.model_limits(runner.model)
        if limits is None:
            return
        found = self.find(runner.train_dataloader, limits)
        if found:
            raise LabelCheckError(self.training_error(len(found), listing(found), limits))
        if self.check_val and runner.val_loop is not None:
            found = self.find(runner.val_dataloader, limits)
            if found:
                print_log(self.validation_warning(len(found), listing(found), limits),
                          logger='current', level=logging.WARNING)

    def before_test(self, runner) -> None:
        limits = self.model_limits(runner.model) if self.check_val else None
        if limits is None:
            return
        found = self.find(runner.test_dataloader, limits)
        if found:
            print_log(self.validation_warning(len(found), listing(found), limits, 'test'),
                      logger='current', level=logging.WARNING)

    def model_limits(self, model) -> Optional[Any]:
        raise NotImplementedError

    def find(self, dataloader, limits) -> List[Finding]:
        raise NotImplementedError

    def training_error(self, count: int, listed: str, limits) -> str:
        raise NotImplementedError

    def validation_warning(self, count: int, listed: str, limits,
                           split: str = 'validation') -> str:
        raise NotImplementedError


def listing(found: List[Finding], shown: int = 10) -> str:
    """The first ``shown`` findings, one a line, and how many more."""
    return lines_and_more([f'{where}: {what}' for where, what in found], shown)


def line_order(where: str) -> Tuple[str, int]:
    """``'train.txt:10'`` after ``'train.txt:9'``, not before ``':2'``."""
    head, _, line = where.rpartition(':')
    return (head, int(line)) if line.isdigit() else (where, -1)
