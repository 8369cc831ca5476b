"""What the readings cost: mean GFLOPs per image, and how often each scale was read."""
import math
from collections import Counter
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric

from dld.registry import METRICS

from .metric_groups import check_group_by, sample_group
from .sample_fields import sample_field


@METRICS.register_module()
class ReadingCostMetric(BaseMetric):
    """Mean GFLOPs per image and the share of images kept at each scale.

    Why: DLD trades accuracy for FLOPs, so its validation and
    ``tools/test.py`` should say both: the plate accuracy alone does not
    show a selector drifting to the largest scale. The distiller's
    ``predict`` sets ``pred_gflops`` (every read of the image plus the
    selector) and ``pred_scale`` (the scale of the kept reading); a plain
    recognizer sets them with ``test_cfg.count_flops`` (``tools/test.py``
    turns it on), and otherwise nothing is reported.

    Reported keys (after the prefix, ``cost/`` by default): ``gflops`` (the
    mean), ``num_images``, ``mean_scale`` (the mean scale kept, which
    training logs as ``mean_scale`` too: one chart of both in a tracker),
    and ``share_<scale>`` for every scale the model
    could keep (``scale_choices``; 0.0 for one it never kept). Only the
    scales read had a key: a validation without 0.8x left the last one's
    share_0.8 in the log, the shares summing to more than 1. The names keep
    to the characters every tracker takes (``share@0.8`` stopped a run
    logging to MLflow at its first validation).

    With ``group_by`` (``'set'`` or ``'folder'``, as
    :class:`~dld.evaluation.PlateRecogMetric`'s), also ``gflops/<group>``,
    ``num_images/<group>``, ``mean_scale/<group>`` and ``share_<scale>/<group>``
    of each group, where there are several: the selector may read one
    source's plates at larger scales than another's (a camera's small crops
    at the cheap scales), which the mean scale alone does not show.
    """

    default_prefix: Optional[str] = 'cost'

    def __init__(self, group_by: Optional[str] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        check_group_by(group_by, 'ReadingCostMetric')
        self.group_by = group_by

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            gflops = sample_field(sample, 'pred_gflops', default=None)
            scale = sample_field(sample, 'pred_scale', default=None)
            choices = sample_field(sample, 'scale_choices', default=None) or ()
            # None for a sample without a cost: MMEngine warns of no results at all
            self.results.append(None if gflops is None else (
                float(gflops), None if scale is None else float(scale),
                tuple(float(s) for s in choices),
                sample_group(sample, self.group_by) if self.group_by else None))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        results = [r for r in results if r is not None]
        if not results:
            return {}
        out = self._costs(results)
        groups = sorted({r[3] for r in results})
        if self.group_by and len(groups) > 1:
            # each group names every scale the overall keys name (a share 0.0
            # where the group kept none), so its shares sum to 1 as theirs do
            choices = tuple({c for r in results for c in r[2]}
                            | {r[1] for r in results if r[1] is not None})
            # one pass: a pass over every image for each group was images x
            # groups (2.6 s at 50,000 images in 1,000 camera folders)
            by_group: Dict[str, List[tuple]] = {group: [] for group in groups}
            for r in results:
                by_group[r[3]].append(r[:2] + (choices, ))
            for group in groups:
                out.update((f'{key}/{group}', value)
                           for key, value in self._costs(by_group[group]).items())
        return out

    @staticmethod
    def _costs(results: List) -> Dict[str, float]:
        n = len(results)
        out = dict(gflops=math.fsum(g for g, *_ in results) / n, num_images=n)
        kept = [s for _, s, *_ in results if s is not None]
        if kept:
            out['mean_scale'] = math.fsum(kept) / len(kept)
        # counted by the key's name: a float32 scale (0.6000000238) is the 0.6 listed
        scales = Counter(f'{s:g}' for _, s, *_ in results if s is not None)
        names = {f'{c:g}': c for _, _, cs, *_ in results for c in cs}
        names.update((name, float(name)) for name in scales if name not in names)
        for name in sorted(names, key=names.get, reverse=True):
            out[f'share_{name}'] = scales[name] / n
        return out
