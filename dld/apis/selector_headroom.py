"""How close can a selector come to the oracle? Measured, not argued.

A selector decides from a thumbnail *before* the student reads; the oracle
knows which readings are right. Between them lies what the thumbnail does
not show about the student. This module measures that gap for a trained
student, from :class:`~dld.apis.reread_calibration.ScaleReadings`:

* **correctness probes**: a :class:`ResolutionSelector`-shaped network
  trained, on images the student has not trained on, to predict whether each
  scale's reading is right (binary cross-entropy per scale), then used as a
  selector: read at the smallest scale whose predicted chance of being right
  reaches a threshold. This is the best-informed use of the selector's input
  that its training signal allows; a probe that does no better than the
  deployed selector says the input, not the selector's training, is short.
* **the student's own score**: how well the sequence probability after a
  reading tells a right reading from a wrong one (what a reread cascade can
  use), and a cascade that reads every image at the smallest scale first.

Every policy is judged like the report's selector: its mean FLOPs against
the oracle's at the same accuracy (:func:`oracle_choice`).
"""
import dataclasses
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dld.models.selectors import ResolutionSelector

from .oracle_selection import oracle_choice
from .reread_calibration import ScaleReadings, replay


@dataclass
class PolicyPoint:
    """One policy (at one setting) on held-out readings."""

    policy: str
    setting: str
    accuracy: float
    relative_flops: float
    oracle_flops: float

    @property
    def oracle_ratio(self) -> float:
        """The policy's mean FLOPs over the oracle's at the same accuracy."""
        return self.relative_flops / self.oracle_flops if self.oracle_flops else float('inf')

    def as_dict(self) -> dict:
        return dict(dataclasses.asdict(self), oracle_ratio=self.oracle_ratio)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random positive outscores a
    random negative (ties count half); NaN when one class is missing. A NaN
    score (a diverged reading's) ranks lowest, as the least sure: sorted
    last, it ranked highest."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    num_pos = int(labels.sum())
    num_neg = len(labels) - num_pos
    if num_pos == 0 or num_neg == 0:
        return float('nan')
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts  # average rank of each tie group
    ranks = (starts + (counts + 1) / 2.0)[inverse]
    return float((ranks[labels].sum() - num_pos * (num_pos + 1) / 2.0) / (num_pos * num_neg))


def oracle_flops_at(readings: ScaleReadings, num_correct: int) -> float:
    """The oracle's mean relative FLOPs when it reads ``num_correct`` images right."""
    chosen = oracle_choice(readings.correct, readings.cost, num_correct)
    return float(readings.cost[chosen].mean())


def judge(readings: ScaleReadings, policy: str, setting: str, right: np.ndarray,
          flops: np.ndarray) -> PolicyPoint:
    """A policy's point from what it read right and spent per image."""
    right = np.asarray(right, dtype=bool)
    return PolicyPoint(policy, setting, accuracy=float(right.mean()),
                       relative_flops=float(np.mean(flops)),
                       oracle_flops=oracle_flops_at(readings, int(right.sum())))


def fit_correctness_probe(thumbs: np.ndarray, correct: np.ndarray, scales: Sequence[float],
                          channels: Sequence[int] = (8, 16, 32), epochs: int = 30,
                          batch_size: int = 128, lr: float = 3e-3,
                          seed: int = 0) -> ResolutionSelector:
    """Train a probe to predict, per scale, whether the student reads an image right.

    Args:
        thumbs: ``(N, C, h, w)`` thumbnails (the probe reads them at this size).
        correct: ``(N, K)`` the student's right readings at ``scales``.
    """
    if len(thumbs) != len(correct):
        raise ValueError(f'{len(thumbs)} thumbnails but {len(correct)} rows of readings')
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        probe = ResolutionSelector(scales=scales, thumb_size=tuple(thumbs.shape[-2:]),
                                   in_channels=thumbs.shape[1], channels=channels)
    x = torch.from_numpy(np.asarray(thumbs, dtype=np.float32))
    y = torch.from_numpy(np.asarray(correct, dtype=np.float32))
    steps_per_epoch = -(-len(x) // batch_size)
    optim = torch.optim.AdamW(probe.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, lr, total_steps=epochs * steps_per_epoch)
    probe.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            if len(idx) < 2:  # BatchNorm needs two images
                continue
            loss = F.binary_cross_entropy_with_logits(probe(x[idx]), y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
    return probe.eval()


@torch.no_grad()
def probe_probabilities(probe: ResolutionSelector, thumbs: np.ndarray,
                        batch_size: int = 512) -> np.ndarray:
    """``(N, K)`` the probe's chance that each scale's reading is right."""
    probe.eval()
    x = torch.from_numpy(np.asarray(thumbs, dtype=np.float32))
    out = [torch.sigmoid(probe(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, probe.num_scales))


def threshold_policy(prob: np.ndarray, min_prob: float) -> np.ndarray:
    """Per image, the smallest scale whose predicted chance of a right reading
    reaches ``min_prob``; the largest scale when none does."""
    sure = np.asarray(prob) >= min_prob
    return np.where(sure.any(axis=1), sure.argmax(axis=1), sure.shape[1] - 1)


def probe_frontier(readings: ScaleReadings, prob: np.ndarray, probe_cost: float,
                   name: str, thresholds: Sequence[float]) -> List[PolicyPoint]:
    """The probe used as a selector, at each threshold."""
    rows = np.arange(len(prob))
    points = []
    for t in thresholds:
        chosen = threshold_policy(prob, t)
        points.append(judge(readings, name, f'p >= {t:.3g}', readings.correct[rows, chosen],
                            readings.cost[chosen] + probe_cost))
    return points


def smallest_first_frontier(readings: ScaleReadings, thresholds: Sequence[float],
                            chain: Optional[Sequence[float]] = None) -> List[PolicyPoint]:
    """Read every image at the smallest scale, then reread unsure ones up ``chain``
    (default: every larger scale): the reread cascade with no selector."""
    start = dataclasses.replace(readings, first=np.zeros_like(readings.first),
                                selector_cost=0.0)
    chain = tuple(readings.scales[1:]) if chain is None else tuple(chain)
    points = []
    for t in thresholds:
        r = replay(start, t, chain)
        points.append(PolicyPoint('smallest scale first + reread', f'min_score {t:.3g}',
                                  r.accuracy, r.relative_flops,
                                  oracle_flops_at(readings, round(r.accuracy * len(start.first)))))
    return points


def cheapest_at_accuracy(points: Sequence[PolicyPoint],
                         accuracy: float) -> Optional[PolicyPoint]:
    """The cheapest point reading at least ``accuracy``, if any does."""
    fits = [p for p in points if p.accuracy >= accuracy - 1e-12]
    return min(fits, key=lambda p: p.relative_flops) if fits else None


def best_accuracy_within(points: Sequence[PolicyPoint],
                         max_ratio: float) -> Optional[PolicyPoint]:
    """The most accurate point whose FLOPs are within ``max_ratio`` of the oracle's."""
    fits = [p for p in points if p.oracle_ratio <= max_ratio]
    return max(fits, key=lambda p: (p.accuracy, -p.relative_flops)) if fits else None


def score_aucs(readings: ScaleReadings) -> List[float]:
    """Per scale: how well the student's own score tells its right readings."""
    return [roc_auc(readings.correct[:, k], readings.score[:, k])
            for k in range(len(readings.scales))]


def probe_aucs(readings: ScaleReadings, prob: np.ndarray) -> List[float]:
    """Per scale: how well a probe's prediction tells the right readings."""
    return [roc_auc(readings.correct[:, k], prob[:, k]) for k in range(len(readings.scales))]

