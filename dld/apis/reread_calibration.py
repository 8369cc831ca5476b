"""Choosing the reread cascade's threshold and scales on held-out images.

The cascade (``DLDDistiller`` ``test_cfg.reread``) keeps a reading whose
sequence probability reaches ``min_score`` and otherwise reads the image
again at the next larger scale of its chain. The student's reading of an
image at a scale does not depend on the rest of the batch (eval mode, one
set of BatchNorm statistics per scale), so reading every held-out image once
at every candidate scale tells what *any* threshold and chain would do: the
cascade is replayed from that table instead of being rerun per setting.
Calibrate on the validation split, report on the test split.

The budget is held with a confidence level: a setting's mean FLOPs on the
held-out images is an estimate, and the frames of a track are alike, so the
estimate varies from split to split like a mean over tracks, not over
frames. A setting is kept when the one-sided upper confidence bound of its
mean FLOPs (normal, its standard error from the spread of the tracks, each
weighed by its frames) is within budget.
"""
import copy
import itertools
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .plate_matching import plate_read_right
from .scaled_prediction import predict_at_scale


@dataclass
class ScaleReadings:
    """What the student reads of each image at each candidate scale.

    Attributes:
        scales: the candidate scales, ascending.
        first: (N,) index into ``scales`` of the selector's choice per image.
        correct: (N, K) whether the reading at each scale is right.
        score: (N, K) the reading's sequence probability.
        cost: (K,) the student's FLOPs at each scale over the teacher's.
        selector_cost: the selector's FLOPs over the teacher's.
        group: (N,) the track of each image (an integer id); images without
            a track are their own group.
        thumbs: per requested ``(h, w)``, the ``(N, C, h, w)`` float16
            area-resized normalised inputs (what a selector of that thumbnail
            size reads); empty unless asked for.
        logits: (N, K) the selector's own logits (no ``selector_bias``), in
            the order of ``scales`` (ascending).
    """

    scales: List[float]
    first: np.ndarray
    correct: np.ndarray
    score: np.ndarray
    cost: np.ndarray
    selector_cost: float
    group: Optional[np.ndarray] = None
    thumbs: Dict[Tuple[int, int], np.ndarray] = field(default_factory=dict)
    logits: Optional[np.ndarray] = None


@dataclass
class CascadeResult:
    """One cascade setting replayed over the readings."""

    min_score: float
    scales: Tuple[float, ...]
    accuracy: float
    relative_flops: float
    reread_fraction: float
    flops_std_error: float = 0.0

    def flops_bound(self, confidence: float) -> float:
        """One-sided upper bound of the mean relative FLOPs at ``confidence``."""
        if confidence <= 0.5:
            return self.relative_flops
        return self.relative_flops + NormalDist().inv_cdf(confidence) * self.flops_std_error

    def as_dict(self) -> dict:
        return dict(min_score=self.min_score, scales=list(self.scales),
                    accuracy=self.accuracy, relative_flops=self.relative_flops,
                    # one track: no error estimated (JSON has no Infinity)
                    flops_std_error=(self.flops_std_error
                                     if math.isfinite(self.flops_std_error) else None),
                    reread_fraction=self.reread_fraction)


@torch.no_grad()
def collect_readings(model: nn.Module, batches: Iterable[dict],
                     case_sensitive: bool = False,
                     thumb_sizes: Sequence[Tuple[int, int]] = ()) -> ScaleReadings:
    """Read every image of ``batches`` (collated, uint8) at every candidate scale.

    ``model`` is a :class:`DLDDistiller` with a selector; it reads in eval
    mode (a model left in training mode, after ``runner.train()``, is put in
    eval mode for the reading and back after it: in training mode the
    selector samples and every read moved the BatchNorm statistics).
    ``thumb_sizes`` also keeps the inputs area-resized to each size.
    """
    if getattr(model, 'selector', None) is None:
        raise ValueError('the reread cascade and the selector bias start from the selector: '
                         f'the model ({type(model).__name__}) has none (a DLD checkpoint '
                         'whose selector stage was trained is needed)')
    was_training = model.training
    model.eval()
    try:
        readings = _collect_readings(model, batches, case_sensitive, thumb_sizes)
    finally:
        model.train(was_training)
    if not len(readings.first):
        raise ValueError('collect_readings: the batches hold no image (an empty split?)')
    return readings


def _collect_readings(model: nn.Module, batches: Iterable[dict], case_sensitive: bool,
                      thumb_sizes: Sequence[Tuple[int, int]]) -> ScaleReadings:
    scales = sorted(model.scales)
    first, correct, score, tracks, logits = [], [], [], [], []
    order = [list(model.scales).index(s) for s in scales]  # model order -> ascending
    thumbs = {tuple(size): [] for size in thumb_sizes}
    for batch in batches:
        batch = {k: v for k, v in batch.items() if k != 'inputs_hr'}
        data = model.data_preprocessor(batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        own = model.selector_logits(inputs)  # the selector run once: chosen and kept
        chosen = model.select_from_logits(own)[1].tolist()
        logits.append(own.float()[:, order].cpu().numpy())
        tracks += [d.get('track_id') for d in samples]
        for size, kept in thumbs.items():
            kept.append(F.adaptive_avg_pool2d(inputs.float(), size).half().cpu().numpy())
        first += [scales.index(model.scales[i]) for i in chosen]
        rows_ok, rows_p = [], []
        for s in scales:
            read = predict_at_scale(model.student, inputs, copy.deepcopy(samples), s,
                                    tuple(model.base_size))
            rows_ok.append([plate_read_right(d.pred_text, d.gt_text, case_sensitive)
                            for d in read])
            rows_p.append([float(d.pred_score) for d in read])
        correct += list(zip(*rows_ok))
        score += list(zip(*rows_p))
    teacher = model.costs.teacher_flops
    return ScaleReadings(
        scales=scales, first=np.asarray(first, dtype=np.int64),
        correct=np.asarray(correct, dtype=bool).reshape(-1, len(scales)),
        score=np.asarray(score, dtype=np.float64).reshape(-1, len(scales)),
        cost=np.asarray([model.costs.student_flops_at(s) / teacher for s in scales]),
        selector_cost=model.costs.selector_flops / teacher, group=_group_ids(tracks),
        thumbs={size: np.concatenate(kept) for size, kept in thumbs.items() if kept},
        logits=(np.concatenate(logits).astype(np.float64) if logits
                else np.zeros((0, len(scales)))))


def _group_ids(tracks: List[Optional[str]]) -> np.ndarray:
    ids: dict = {}
    return np.asarray([ids.setdefault(t if t is not None else ('image', i), len(ids))
                       for i, t in enumerate(tracks)], dtype=np.int64)


def replay(readings: ScaleReadings, min_score: float,
           scales: Sequence[float]) -> CascadeResult:
    """Accuracy and mean relative FLOPs of the cascade ``(min_score, scales)``.

    Follows ``DLDDistiller.predict``: start at the selector's choice; for each
    chain scale in ascending order, reread the images whose current reading
    is below ``min_score`` and was made at a smaller scale.
    """
    n = len(readings.first)
    rows = np.arange(n)
    cur = readings.first.copy()
    cost = readings.selector_cost + readings.cost[cur]
    reread = np.zeros(n, dtype=bool)
    for s in sorted(float(s) for s in scales):
        j = readings.scales.index(s)
        unsure = (readings.score[rows, cur] < min_score) & (cur < j)
        cost = cost + unsure * readings.cost[j]
        cur = np.where(unsure, j, cur)
        reread |= unsure
    return CascadeResult(float(min_score), tuple(sorted(float(s) for s in scales)),
                         accuracy=float(readings.correct[rows, cur].mean()) if n else 0.0,
                         relative_flops=float(cost.mean()) if n else 0.0,
                         reread_fraction=float(reread.mean()) if n else 0.0,
                         flops_std_error=_std_error(cost, readings.group))


def _std_error(values: np.ndarray, group: Optional[np.ndarray]) -> float:
    """Standard error of the mean of ``values`` over images, when what varies
    from split to split is which groups (tracks) it holds.

    The cluster-robust estimate: from the spread of each group's total about
    its share of the mean, so a track of many frames weighs in the error as
    much as it does in the mean. With groups of one size it is the spread of
    the group means over the square root of their number; a plain spread of
    group means would weigh a one-frame track like a long one and misjudge
    the error of a set of tracks of unequal lengths. One group gives no
    estimate: infinite, so that no bound above the mean is claimed from it
    (it was 0, the bound the plain mean).
    """
    values = np.asarray(values, dtype=np.float64)
    if group is None:
        group = np.arange(len(values))
    counts = np.bincount(group)
    totals = np.bincount(group, weights=values)
    kept = counts > 0
    num_groups = int(kept.sum())
    if num_groups < 2:
        return math.inf if len(values) else 0.0
    spread = totals[kept] - counts[kept] * values.mean()
    return float(np.sqrt(num_groups / (num_groups - 1) * np.sum(spread ** 2)) / len(values))


def candidate_chains(scales: Sequence[float]) -> List[Tuple[float, ...]]:
    """Every non-empty set of candidate scales above the smallest (nothing rereads at it)."""
    above = sorted(scales)[1:]
    return [c for r in range(1, len(above) + 1) for c in itertools.combinations(above, r)]


def calibrate(readings: ScaleReadings, max_relative_flops: float,
              chains: Optional[Sequence[Sequence[float]]] = None,
              thresholds: Optional[Sequence[float]] = None, confidence: float = 0.95
              ) -> Tuple[Optional[CascadeResult], List[CascadeResult]]:
    """The most accurate cascade within the FLOPs budget, and each chain's best.

    A setting fits when its mean FLOPs' upper bound at ``confidence`` (0.5:
    the mean itself) is within ``max_relative_flops``. Ties go to the cheaper
    setting. Returns ``(None, [])`` when no setting fits (not even reading
    once at the selector's choice).
    """
    chains = candidate_chains(readings.scales) if chains is None else chains
    for chain in chains:
        missing = [s for s in chain if float(s) not in readings.scales]
        if missing:
            raise ValueError(f'reread scales {missing} are not candidate scales '
                             f'{readings.scales}')
    thresholds = np.linspace(0.0, 1.0, 201) if thresholds is None else thresholds
    per_chain = []
    for chain in chains:
        fits = [r for r in (replay(readings, t, chain) for t in thresholds)
                if r.flops_bound(confidence) <= max_relative_flops]
        if fits:
            per_chain.append(max(fits, key=_rank))
    per_chain.sort(key=_rank, reverse=True)
    return (per_chain[0] if per_chain else None), per_chain


def _rank(r: CascadeResult) -> tuple:
    return (r.accuracy, -r.relative_flops, -len(r.scales))


# ------------------------------------------------------------ selector bias
@dataclass
class BiasResult:
    """The selector read with ``bias = -cost_weight * relative FLOPs`` added
    to its logits (``test_cfg.selector_bias``), replayed over the readings."""

    cost_weight: float
    bias: Tuple[float, ...]  # in the order of ``readings.scales`` (ascending)
    accuracy: float
    relative_flops: float
    shares: Tuple[float, ...]  # share of the images read at each scale
    flops_std_error: float = 0.0
    scales: Tuple[float, ...] = ()  # ``readings.scales``: the order of ``bias`` and ``shares``

    def selector_bias(self, model_scales: Sequence[float]) -> List[float]:
        """``bias`` in ``model_scales`` order (``model.scales``, the order
        ``model.test_cfg.selector_bias`` takes): ``bias`` itself is in the
        ascending order of the readings, the reverse of the shipped configs'
        ``scales`` (1.0 first), where it would send images to dear scales."""
        if sorted(float(s) for s in model_scales) != list(self.scales):
            raise ValueError(f'model scales {list(model_scales)} are not the calibrated '
                             f'scales {list(self.scales)}')
        return [self.bias[self.scales.index(float(s))] + 0.0 for s in model_scales]

    def flops_bound(self, confidence: float) -> float:
        return CascadeResult(0.0, (), self.accuracy, self.relative_flops, 0.0,
                             self.flops_std_error).flops_bound(confidence)


def replay_bias(readings: ScaleReadings, cost_weight: float) -> BiasResult:
    """Accuracy and mean relative FLOPs of the selector whose logits are
    shifted by ``-cost_weight * readings.cost`` (> 0: towards cheaper scales)."""
    if readings.logits is None:
        raise ValueError('the readings hold no selector logits')
    n, k = readings.logits.shape
    bias = -float(cost_weight) * readings.cost
    chosen = np.argmax(readings.logits + bias, axis=1)
    cost = readings.selector_cost + readings.cost[chosen]
    return BiasResult(
        float(cost_weight), tuple(float(b) for b in bias),
        accuracy=float(readings.correct[np.arange(n), chosen].mean()) if n else 0.0,
        relative_flops=float(cost.mean()) if n else 0.0,
        shares=tuple(float(np.mean(chosen == j)) if n else 0.0 for j in range(k)),
        flops_std_error=_std_error(cost, readings.group),
        scales=tuple(float(s) for s in readings.scales))


def cost_weights(readings: ScaleReadings, most: int = 400) -> np.ndarray:
    """The cost weights at which some image's choice changes (where two of
    its biased logits tie), thinned to ``most`` by quantile, with 0 and
    a weight beyond each end: every distinct choice of the bias family."""
    logits, cost = readings.logits, readings.cost
    ties = []
    for i in range(len(cost)):
        for j in range(i + 1, len(cost)):
            if cost[i] != cost[j]:
                ties.append((logits[:, i] - logits[:, j]) / (cost[i] - cost[j]))
    ties = np.concatenate(ties) if ties else np.zeros(0)
    ties = ties[np.isfinite(ties)]
    if len(ties) > most:
        ties = np.quantile(ties, np.linspace(0, 1, most))
    ties = np.unique(ties)
    # between consecutive ties the choices are constant: take the midpoints
    mids = (ties[1:] + ties[:-1]) / 2 if len(ties) > 1 else np.zeros(0)
    ends = [ties[0] - 1.0, ties[-1] + 1.0] if len(ties) else []
    return np.unique(np.concatenate([[0.0], mids, ends]))


def calibrate_selector_bias(readings: ScaleReadings, max_relative_flops: float,
                            confidence: float = 0.95,
                            weights: Optional[Sequence[float]] = None
                            ) -> Tuple[Optional[BiasResult], List[BiasResult]]:
    """The most accurate selector bias within the FLOPs budget (ties to the
    cheaper, then to the smaller shift), and every weight tried, by weight."""
    weights = cost_weights(readings) if weights is None else weights
    tried = [replay_bias(readings, w) for w in weights]
    fits = [r for r in tried if r.flops_bound(confidence) <= max_relative_flops]
    best = max(fits, key=lambda r: (r.accuracy, -r.relative_flops, -abs(r.cost_weight))) \
        if fits else None
    return best, sorted(tried, key=lambda r: r.cost_weight)
