"""Track-level plate accuracy: one answer per track, by voting over frames."""
import math
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from dld.registry import METRICS

from .metric_groups import check_group_by, sample_group
from .sample_fields import sample_field
from .text_metric import TextMetric
from .track_voting import VOTE_METHODS, as_layouts, layout_matcher, track_confidence, vote_track


def confidence_gap(readings: Iterable[Tuple[bool, float]]) -> Dict[str, float]:
    """``confidence_right``, ``confidence_wrong`` and ``confidence_gap`` (their
    difference) of ``(read_right, confidence)`` pairs.

    Why: the ICPR 2026 LRLPR challenge breaks ties in recognition rate by
    this gap between the mean confidence of right and of wrong answers; a
    reader whose confidence separates the two is worth more, since its wrong
    answers can be sent for review. A side with no reading is left out, and
    the gap with it.
    """
    readings = list(readings)  # read twice
    right = [c for ok, c in readings if ok]
    wrong = [c for ok, c in readings if not ok]
    out = {}
    if right:
        out['confidence_right'] = math.fsum(right) / len(right)
    if wrong:
        out['confidence_wrong'] = math.fsum(wrong) / len(wrong)
    if right and wrong:
        out['confidence_gap'] = out['confidence_right'] - out['confidence_wrong']
    return out


def _check_distinct_frames(track_id: str, frame_idxs: List[Optional[int]]) -> None:
    seen = Counter(f for f in frame_idxs if f is not None)
    repeated = sorted(f for f, n in seen.items() if n > 1)
    if repeated:
        raise ValueError(
            f'TrackAccuracyMetric: track {track_id!r} has frame(s) {repeated} more than '
            'once: two evaluated sets share this track id (ids are relative to '
            "each set's data root). Give each set its own `track_prefix`, e.g. "
            "dict(type='PairedPlateDataset', ..., track_prefix='cam1/').")


@METRICS.register_module()
class TrackAccuracyMetric(TextMetric):
    """Accuracy of whole tracks, each read by a majority vote of its frames.

    Frames are grouped by the meta field ``track_id``; each frame votes with
    its ``pred_text``, and ties are broken by the summed ``pred_score``
    (see :func:`vote_track`). A track is right when the voted text equals
    its ground truth (the ``gt_text`` shared by its frames; if frames
    disagree, the most frequent one, ties to the text that sorts first, with
    a warning).

    Two frames of one track with the same ``frame_idx`` are an error: they
    come from two sets whose track ids coincide (ids are relative to each
    set's data root), and voting them together would merge two plates. Give
    each set its own ``track_prefix`` (:class:`BasePlateDataset`).

    Reported keys (after the prefix, ``track/`` by default): ``accuracy``,
    ``num_tracks``, ``num_correct``, ``num_frames``, and the challenge's
    tie-breaker :func:`confidence_gap` over labelled tracks, a track's
    confidence being the mean ``pred_score`` of the frames that read its
    answer (:func:`track_confidence`) (``confidence_right``,
    ``confidence_wrong``, ``confidence_gap``; left out where no track was
    right, or none wrong). With ``group_by``: ``accuracy/<group>`` and
    ``num_tracks/<group>`` of each group, when there are two or more.

    Args:
        case_sensitive (bool): if False (default), texts are upper-cased.
        layouts (sequence of str, optional): only readings that fit one of
            these plate layouts vote, where any does (:func:`vote_track`),
            e.g. ``('brazilian', 'mercosur')`` for the ICPR 2026 LRLPR
            plates. ``tools/infer.py --track`` votes with the same layouts.
        vote (str): ``'text'`` (default), whole readings vote; ``'chars'``,
            characters vote position by position, weighted by confidence
            (:func:`vote_track`). ``tools/infer.py --track`` votes the same way.
        group_by (str, optional): ``'folder'`` or ``'set'``: also the
            accuracy of each group of tracks, as
            :class:`~dld.evaluation.PlateRecogMetric`'s ``group_by`` (one
            accuracy over several sets hid a set read at 0 %).
        collect_device (str): 'cpu' or 'gpu', for gathering across ranks.
        prefix (str, optional): key prefix; defaults to ``'track'``.
    """

    default_prefix: Optional[str] = 'track'

    def __init__(self, case_sensitive: bool = False,
                 layouts: Optional[Sequence[str]] = None, vote: str = 'text',
                 group_by: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(case_sensitive=case_sensitive, collect_device=collect_device,
                         prefix=prefix)
        self.layouts = as_layouts(layouts)
        if self.layouts:
            layout_matcher(self.layouts)  # an unknown layout fails at build, not at the end
        if vote not in VOTE_METHODS:
            raise ValueError(f'TrackAccuracyMetric: vote must be one of {VOTE_METHODS}, '
                             f'got {vote!r}')
        self.vote = vote
        check_group_by(group_by, 'TrackAccuracyMetric')
        self.group_by = group_by

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            track_id = sample_field(sample, 'track_id', required=True, metric=self)
            frame_idx = sample_field(sample, 'frame_idx', default=None)
            gt = sample_field(sample, 'gt_text', required=True, metric=self)
            pred = sample_field(sample, 'pred_text', default='')
            score = sample_field(sample, 'pred_score', default=0.0)
            group = sample_group(sample, self.group_by) if self.group_by else None
            # read in the place of an unreadable frame (test mode, max_retry > 0):
            # a second reading of a frame its track holds already
            substitute = bool(sample_field(sample, 'substitute', default=False))
            self.results.append((str(track_id), None if frame_idx is None else int(frame_idx),
                                 self._norm(gt), self._norm(pred), float(score), group,
                                 substitute))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        substitutes = sum(r[6] for r in results)
        if substitutes:
            print_log(f'TrackAccuracyMetric: {substitutes} frame(s) read in the place of '
                      'unreadable ones (max_retry > 0) are left out of the track votes: '
                      'each is a frame its track already holds (the broken frames are '
                      'named in the warnings above).', logger='current', level=30)
            results = [r for r in results if not r[6]]
        tracks: Dict[str, list] = defaultdict(list)
        groups: Dict[str, Optional[str]] = {}
        for track_id, frame_idx, gt, pred, score, group, _ in results:
            tracks[track_id].append((frame_idx, gt, pred, score))
            groups.setdefault(track_id, group)
        correct = unlabelled = 0
        outcomes = []  # (right, confidence) of each labelled track
        by_group: Dict[str, List[bool]] = defaultdict(list)
        for track_id, frames in tracks.items():
            _check_distinct_frames(track_id, [f for f, _, _, _ in frames])
            frames = [(0 if f is None else f, gt, p, s) for f, gt, p, s in frames]
            gts = Counter(gt for _, gt, _, _ in frames)
            if len(gts) > 1:
                print_log(f'TrackAccuracyMetric: frames of track {track_id!r} '
                          f'disagree on gt_text {dict(gts)}; using the most '
                          'frequent label (a label before none).', logger='current',
                          level=30)
            # a label before none (an unlabelled frame made a read track wrong),
            # then the most frequent; not arrival order on a tie
            gt = min(gts, key=lambda g: (not g, -gts[g], g))
            unlabelled += not gt
            readings = [(f, p, s) for f, _, p, s in frames]
            voted = vote_track(readings, self.layouts, self.vote)
            correct += bool(gt) and voted == gt  # an unlabelled track is never right
            by_group[groups[track_id]].append(bool(gt) and voted == gt)
            if gt:
                outcomes.append((voted == gt, track_confidence(readings, voted)))
        n = len(tracks)
        self._warn_unlabelled(unlabelled, n, 'tracks')
        out = dict(
            accuracy=correct / n if n else 0.0,
            num_tracks=n,
            num_correct=correct,
            num_frames=len(results),
            **confidence_gap(outcomes),
        )
        if self.group_by and len(by_group) > 1:
            for group in sorted(by_group):
                out[f'accuracy/{group}'] = sum(by_group[group]) / len(by_group[group])
                out[f'num_tracks/{group}'] = len(by_group[group])
        return out
