"""Frame-level plate recognition metrics."""
from typing import Dict, List, Optional, Sequence

import editdistance

from dld.registry import METRICS

from .sample_fields import sample_field
from .text_metric import TextMetric


@METRICS.register_module()
class PlateRecogMetric(TextMetric):
    """Plate accuracy, character accuracy and 1-NED over single frames.

    Reads ``gt_text`` and ``pred_text`` of each :class:`PlateDataSample`
    (a missing ``pred_text`` counts as the empty string).

    Reported keys (after the prefix, ``plate/`` by default):

    * ``accuracy``: fraction of plates read exactly right. It comes first,
      so ``CheckpointHook(save_best='auto')`` keeps the best plate accuracy.
    * ``char_accuracy``: characters right at their position, over
      ``sum(max(len(gt), len(pred)))``; a missing or extra character counts
      as wrong, so a prediction cannot score by being long.
    * ``one_minus_ned``: mean of ``1 - edit_distance(pred, gt) /
      max(len(pred), len(gt))`` (1 when both are empty).
    * ``num_samples``, ``num_correct``: the counts behind ``accuracy``.

    Args:
        case_sensitive (bool): compare as given; if False (default) both
            strings are upper-cased first, as plates are.
        collect_device (str): 'cpu' or 'gpu', for gathering across ranks.
        prefix (str, optional): key prefix; defaults to ``'plate'``.
    """

    default_prefix: Optional[str] = 'plate'

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            gt = sample_field(sample, 'gt_text', required=True, metric=self)
            pred = sample_field(sample, 'pred_text', default='')
            self.results.append((self._norm(gt), self._norm(pred)))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        return plate_scores(results)


def plate_scores(pairs: Sequence) -> Dict[str, float]:
    """The metric's numbers for ``(gt, pred)`` string pairs."""
    n = len(pairs)
    correct = sum(gt == pred for gt, pred in pairs)
    char_right = char_total = 0
    one_minus_ned = 0.0
    for gt, pred in pairs:
        longest = max(len(gt), len(pred))
        char_right += sum(g == p for g, p in zip(gt, pred))
        char_total += longest
        if longest:
            one_minus_ned += 1.0 - editdistance.eval(gt, pred) / longest
        else:
            one_minus_ned += 1.0
    return dict(
        accuracy=correct / n if n else 0.0,
        char_accuracy=char_right / char_total if char_total else float(n > 0),
        one_minus_ned=one_minus_ned / n if n else 0.0,
        num_samples=n,
        num_correct=correct,
    )
