"""Track-level plate accuracy: one answer per track, by voting over frames."""
import functools
import math
from collections import Counter, defaultdict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from dld.datasets.synth.plate_text import resolve_layout, text_matches
from dld.registry import METRICS

from .sample_fields import sample_field
from .text_metric import TextMetric


def vote_track(frames: Sequence[Tuple[int, str, float]],
               layouts: Optional[Sequence[str]] = None) -> str:
    """The track's answer from its frames' ``(frame_idx, pred_text, pred_score)``.

    The most frequent prediction wins; a tie goes to the text whose frames
    have the larger summed ``pred_score`` (summed exactly, so the order of
    the additions cannot break the tie); if that ties too, to the text seen
    in the earliest frame, and then to the text that sorts first. So the
    result never depends on arrival order (ranks, workers and batch sizes
    deliver frames in other orders).

    With ``layouts`` (names of ``dld.datasets.synth.LAYOUTS`` or patterns of
    ``L`` letter, ``N`` digit, ``A`` either: ``('brazilian', 'mercosur')``),
    only readings that fit one of them vote, when any does: a plate cannot
    read ``ABC12`` or ``AB1C234``, so such a reading, however often seen, is
    a misread. A track with no fitting reading is voted on by all.
    """
    if layouts:
        fits = layout_matcher(tuple(layouts))
        fitting = [f for f in frames if fits(f[1])]
        frames = fitting or frames
    scores: Dict[str, List[float]] = defaultdict(list)
    first_frame: Dict[str, int] = {}
    for frame_idx, text, score in frames:
        scores[text].append(score)
        first_frame[text] = min(frame_idx, first_frame.get(text, frame_idx))
    return min(scores, key=lambda t: (-len(scores[t]), -math.fsum(scores[t]),
                                      first_frame[t], t))


@functools.lru_cache(maxsize=32)
def layout_matcher(layouts: Tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a text fits one of ``layouts`` (names or patterns, as
    :func:`vote_track` takes them); an unknown name is a ``ValueError``."""
    patterns = [resolve_layout(layout)[1] for layout in layouts]
    return lambda text: any(text_matches(text, p) for p in patterns)


def confidence_gap(readings: Iterable[Tuple[bool, float]]) -> Dict[str, float]:
    """``confidence_right``, ``confidence_wrong`` and ``confidence_gap`` (their
    difference) of ``(read_right, confidence)`` pairs.

    Why: the ICPR 2026 LRLPR challenge breaks ties in recognition rate by
    this gap between the mean confidence of right and of wrong answers; a
    reader whose confidence separates the two is worth more, since its wrong
    answers can be sent for review. A side with no reading is left out, and
    the gap with it.
    """
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
    confidence being the mean ``pred_score`` of the frames that voted for
    its answer (``confidence_right``, ``confidence_wrong``,
    ``confidence_gap``; left out where no track was right, or none wrong).

    Args:
        case_sensitive (bool): if False (default), texts are upper-cased.
        layouts (sequence of str, optional): only readings that fit one of
            these plate layouts vote, where any does (:func:`vote_track`),
            e.g. ``('brazilian', 'mercosur')`` for the ICPR 2026 LRLPR
            plates. ``tools/infer.py --track`` votes with the same layouts.
        collect_device (str): 'cpu' or 'gpu', for gathering across ranks.
        prefix (str, optional): key prefix; defaults to ``'track'``.
    """

    default_prefix: Optional[str] = 'track'

    def __init__(self, case_sensitive: bool = False,
                 layouts: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(case_sensitive=case_sensitive, collect_device=collect_device,
                         prefix=prefix)
        self.layouts = tuple(layouts) if layouts else None
        if self.layouts:
            layout_matcher(self.layouts)  # an unknown layout fails at build, not at the end

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            track_id = sample_field(sample, 'track_id', required=True, metric=self)
            frame_idx = sample_field(sample, 'frame_idx', default=None)
            gt = sample_field(sample, 'gt_text', required=True, metric=self)
            pred = sample_field(sample, 'pred_text', default='')
            score = sample_field(sample, 'pred_score', default=0.0)
            self.results.append((str(track_id), None if frame_idx is None else int(frame_idx),
                                 self._norm(gt), self._norm(pred), float(score)))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        tracks: Dict[str, list] = defaultdict(list)
        for track_id, frame_idx, gt, pred, score in results:
            tracks[track_id].append((frame_idx, gt, pred, score))
        correct = unlabelled = 0
        readings = []  # (right, confidence) of each labelled track
        for track_id, frames in tracks.items():
            _check_distinct_frames(track_id, [f for f, _, _, _ in frames])
            frames = [(0 if f is None else f, gt, p, s) for f, gt, p, s in frames]
            gts = Counter(gt for _, gt, _, _ in frames)
            if len(gts) > 1:
                print_log(f'TrackAccuracyMetric: frames of track {track_id!r} '
                          f'disagree on gt_text {dict(gts)}; using the most '
                          'frequent.', logger='current', level=30)
            gt = min(gts, key=lambda g: (-gts[g], g))  # not arrival order on a tie
            unlabelled += not gt
            voted = vote_track([(f, p, s) for f, _, p, s in frames], self.layouts)
            correct += bool(gt) and voted == gt  # an unlabelled track is never right
            if gt:
                agree = [s for _, _, p, s in frames if p == voted]
                readings.append((voted == gt, math.fsum(agree) / len(agree)))
        n = len(tracks)
        self._warn_unlabelled(unlabelled, n, 'tracks')
        return dict(
            accuracy=correct / n if n else 0.0,
            num_tracks=n,
            num_correct=correct,
            num_frames=len(results),
            **confidence_gap(readings),
        )
