"""Frame-level plate recognition metrics."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import editdistance

from dld.registry import METRICS

from .metric_groups import check_group_by, sample_group
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
      max(len(pred), len(gt))``.
    * An unlabelled plate (empty ``gt_text``, a set read with
      ``allow_empty_text``) is misread whatever was read, an empty reading
      too: it scores 0 in each, and counts ``max(len(pred), 1)`` characters
      in ``char_accuracy``; a warning says how many there were.
    * ``num_samples``, ``num_correct``: the counts behind ``accuracy``.
    * with ``group_by``: ``accuracy/<group>``, ``char_accuracy/<group>``,
      ``one_minus_ned/<group>`` and ``num_samples/<group>`` of each group,
      when there are two or more, after the keys above.

    Args:
        case_sensitive (bool): compare as given; if False (default) both
            strings are upper-cased first, as plates are.
        group_by (str, optional): ``'folder'``: also the accuracy of each
            folder above the tracks (the track id's parent: in the ICPR
            release ``Scenario-A/Brazilian``, a scenario and a layout), where
            one accuracy over all would hide the hard group; ``'set'``: of
            each set evaluated together (the parts of a ``ConcatDataset``,
            named by their ``track_prefix``, else data root and label file).
        collect_device (str): 'cpu' or 'gpu', for gathering across ranks.
        prefix (str, optional): key prefix; defaults to ``'plate'``.
    """

    default_prefix: Optional[str] = 'plate'

    def __init__(self, case_sensitive: bool = False, group_by: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(case_sensitive=case_sensitive, **kwargs)
        check_group_by(group_by, 'PlateRecogMetric')
        self.group_by = group_by

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            gt = sample_field(sample, 'gt_text', required=True, metric=self)
            pred = sample_field(sample, 'pred_text', default='')
            pair = (self._norm(gt), self._norm(pred))
            if self.group_by:
                pair += (sample_group(sample, self.group_by), )
            self.results.append(pair)

    def compute_metrics(self, results: List) -> Dict[str, float]:
        self._warn_unlabelled(sum(not r[0] for r in results), len(results), 'frames')
        scores = plate_scores([r[:2] for r in results])
        if not self.group_by:
            return scores
        groups = defaultdict(list)
        for gt, pred, group in results:
            groups[group].append((gt, pred))
        if len(groups) > 1:
            for group in sorted(groups):
                each = plate_scores(groups[group])
                for key in ('accuracy', 'char_accuracy', 'one_minus_ned', 'num_samples'):
                    scores[f'{key}/{group}'] = each[key]
        return scores


def plate_scores(pairs: Sequence) -> Dict[str, float]:
    """The metric's numbers for ``(gt, pred)`` string pairs."""
    n = len(pairs)
    # An unlabelled item (empty gt, read with allow_empty_text) is misread
    # whatever was read, an empty reading too: a model that reads nothing
    # must not score 100 % on a blind set.
    correct = sum(bool(gt) and gt == pred for gt, pred in pairs)
    char_right = char_total = 0
    one_minus_ned = 0.0
    for gt, pred in pairs:
        if not gt:
            char_total += max(len(pred), 1)
            continue
        longest = max(len(gt), len(pred))
        char_right += sum(g == p for g, p in zip(gt, pred))
        char_total += longest
        one_minus_ned += 1.0 - editdistance.eval(gt, pred) / longest
    return dict(
        accuracy=correct / n if n else 0.0,
        char_accuracy=char_right / char_total if char_total else 0.0,
        one_minus_ned=one_minus_ned / n if n else 0.0,
        num_samples=n,
        num_correct=correct,
    )
