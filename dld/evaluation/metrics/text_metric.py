"""The base of the metrics that compare plate texts."""
import logging
from typing import Optional

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from dld.utils.char_names import upper_each
from dld.utils.flags import check_flag


class TextMetric(BaseMetric):
    """A metric over plate texts, compared as given or upper-cased.

    Plates are upper-case, and a model trained on a case-folded dictionary
    cannot be blamed for case, so texts are upper-cased unless
    ``case_sensitive``.

    Args:
        case_sensitive (bool): compare as given; if False (default) both
            strings are upper-cased first.
        collect_device (str): 'cpu' or 'gpu', for gathering across ranks.
        prefix (str, optional): key prefix; defaults to ``default_prefix``.
    """

    def __init__(self,
                 case_sensitive: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.case_sensitive = check_flag(case_sensitive, f'{type(self).__name__}.case_sensitive')

    def _norm(self, text: str) -> str:
        return text if self.case_sensitive else upper_each(text)

    def _warn_unlabelled(self, unlabelled: int, total: int, what: str) -> None:
        """A set read with ``allow_empty_text`` scores its unlabelled items
        as misread, an empty reading too: say so, or 0 % looks like a
        result."""
        if unlabelled:
            print_log(f'{type(self).__name__}: {unlabelled} of {total} {what} have no label '
                      "(empty gt_text) and count as read wrong; score only labelled data, "
                      'or read unlabelled plates with tools/infer.py.', logger='current',
                      level=logging.WARNING)
