"""The base of the metrics that compare plate texts."""
from typing import Optional

from mmengine.evaluator import BaseMetric


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
        self.case_sensitive = case_sensitive

    def _norm(self, text: str) -> str:
        return text if self.case_sensitive else text.upper()
