"""Whether the readings of new images drift from a reference's: unpaired, no labels needed.

A camera's days read different images, so the paired comparison of two
files (:func:`dld.apis.reading_analysis.compare`, McNemar) does not apply;
what can be compared is what the readings look like. Per file, the figures
(:data:`FIGURES`, and the share of each chosen scale, ``scale:S``): the mean
confidence, the share of readings below a low confidence (the reference's
10th percentile unless given), the mean GFLOPs per image (its change
relative, in %), the shares failed and truncated, and, where records carry
``crop_stats`` (``analyze_readings.py --crop-stats``), the crops' mean
sharpness and brightness; their mean height (``image_size``) always.

Each later file is compared with the first: the change, its 95 % interval
from a bootstrap that resamples each file on its own (whole tracks where the
records come in tracks of several frames, which are alike), and whether the
interval leaves out no change (``beyond_chance``). For the confidences the
Mann-Whitney test too (its p-value, normal approximation with ties, and the
probability that a reading of the file is more confident than one of the
reference), and for the chosen scales a chi-square test of the whole
distribution. Many figures over many days flag some by chance (1 in 20 of
the figures that did not move): alert on a change beyond chance *and* beyond
what matters (:func:`alerts`).
"""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from .reading_analysis import ReadingsError, is_failed, scipy_stats

#: name: (what it is, how its change is given). ``scale:S`` rows are added per scale.
FIGURES = {
    'confidence': ('mean confidence', 'abs'),
    'low_confidence': ('share of low-confidence readings', 'pt'),
    'gflops': ('mean GFLOPs per image', 'rel'),
    'failed': ('share failed to read', 'pt'),
    'truncated': ('share truncated', 'pt'),
    'height': ('mean crop height (px)', 'abs'),
    'sharpness': ('mean crop sharpness', 'abs'),
    'brightness': ('mean crop brightness', 'abs'),
}
#: the reference's confidence percentile below which a reading is "low"
LOW_PERCENTILE = 10
RESAMPLES = 2000
_BLOCK = 200


def _groups(records: Sequence[dict]) -> np.ndarray:
    """One group per track where the records come in tracks of several
    frames, else one per image (as the paired comparison decides)."""
    tracks = [r.get('track_id') for r in records]
    if None in tracks or len(set(tracks)) in (1, len(tracks)):
        return np.arange(len(records))
    _, inverse = np.unique(np.asarray([str(t) for t in tracks]), return_inverse=True)
    return inverse


def _columns(records: Sequence[dict], low: float, scales: Sequence[float]) -> Dict[str, tuple]:
    """Per figure, ``(values, weights)`` over the records: a figure is the
    weighted mean; weight 0 where it does not apply (a failed image's
    confidence). Figures no record has are left out."""
    read = np.array([not is_failed(r) for r in records], dtype=np.float64)
    out = dict(failed=(1 - read, np.ones(len(records))))
    # a reading without a confidence (another method's, score_predictions.py)
    # is no confidence of 0: it fell to 0, "beyond chance", where none had one
    confs = [None if is_failed(r) else r.get('confidence') for r in records]
    if any(c is not None for c in confs):
        conf = np.array([c or 0.0 for c in confs], dtype=np.float64)
        rated = np.array([c is not None for c in confs], dtype=np.float64)
        out.update(confidence=(conf, rated), low_confidence=((conf < low).astype(float), rated))
    gflops = [r.get('gflops') for r in records]
    if any(g is not None for g in gflops):
        out['gflops'] = (np.array([g or 0.0 for g in gflops]),
                         np.array([g is not None for g in gflops], dtype=float))
    trunc = [r.get('truncated') for r in records]
    if any(t is not None for t in trunc):
        out['truncated'] = (np.array([bool(t) for t in trunc], dtype=float),
                            np.array([t is not None for t in trunc], dtype=float) * read)
    sizes = [r.get('image_size') for r in records]
    has = [isinstance(s, (list, tuple)) and len(s) == 2 for s in sizes]
    if any(has):
        out['height'] = (np.array([s[0] if h else 0.0 for s, h in zip(sizes, has)], dtype=float),
                         np.array(has, dtype=float))
    for key in ('sharpness', 'brightness'):
        vals = [(r.get('crop_stats') or {}).get(key) for r in records]
        if any(isinstance(v, (int, float)) for v in vals):
            ok = [isinstance(v, (int, float)) for v in vals]
            out[key] = (np.array([v if o else 0.0 for v, o in zip(vals, ok)], dtype=float),
                        np.array(ok, dtype=float))
    for s in scales:
        out[f'scale:{s:g}'] = (np.array([r.get('scale') == s for r in records], dtype=float),
                               read)
    return out


def _boot(columns: Dict[str, tuple], groups: np.ndarray, seed: int, resamples: int) -> dict:
    """Per figure, its value in each of ``resamples`` resamples of whole groups."""
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    sums = {k: (np.bincount(groups, weights=v * w, minlength=n_groups),
                np.bincount(groups, weights=w, minlength=n_groups))
            for k, (v, w) in columns.items()}
    rng = np.random.default_rng(seed)
    out = {k: np.empty(resamples) for k in columns}
    for start in range(0, resamples, _BLOCK):
        picks = rng.integers(0, n_groups, size=(min(_BLOCK, resamples - start), n_groups))
        for k, (num, den) in sums.items():
            d = den[picks].sum(1)
            with np.errstate(invalid='ignore', divide='ignore'):
                out[k][start:start + len(picks)] = num[picks].sum(1) / d
    return out


def _value(column: tuple) -> Optional[float]:
    v, w = column
    return float((v * w).sum() / w.sum()) if w.sum() else None


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> Optional[dict]:
    """Mann-Whitney's test of ``y`` against ``x`` (scipy's, two-sided,
    asymptotic with the tie correction): ``p``, and ``superiority``, P(a
    value of y > one of x) + half the ties' chance; None for an empty side."""
    if not len(x) or not len(y):
        return None
    found = scipy_stats().mannwhitneyu(y, x, alternative='two-sided', method='asymptotic')
    p = float(found.pvalue)
    return dict(p=1.0 if math.isnan(p) else p,  # all values alike: no evidence
                superiority=float(found.statistic) / (len(x) * len(y)))


def chi_square(counts_a: Sequence[int], counts_b: Sequence[int]) -> Optional[dict]:
    """The chi-square test of homogeneity of two count vectors (the images
    per chosen scale; scipy's, without Yates' correction): ``statistic``,
    ``df``, ``p``; None with fewer than two categories used."""
    table = np.array([counts_a, counts_b], dtype=float)
    table = table[:, table.sum(0) > 0]
    if table.shape[1] < 2 or (table.sum(1) == 0).any():
        return None
    found = scipy_stats().chi2_contingency(table, correction=False)
    return dict(statistic=float(found.statistic), df=int(found.dof), p=float(found.pvalue))


def drift(files: Dict[str, Sequence[dict]], low_confidence: Optional[float] = None,
          resamples: int = RESAMPLES, seed: int = 0, level: float = 0.95) -> dict:
    """Each file's figures and, for every file after the first (the
    reference), their change against it (module docstring). ``files``: name
    -> records, in order. Returns ``reference``, ``low_confidence`` (the
    threshold used), ``figures`` (name -> description), ``files`` (name ->
    figure -> value) and ``changes`` (name -> figure -> ``change``, ``low``,
    ``high``, ``beyond_chance``, ``unit``), ``confidence_test`` and
    ``scale_test`` per later file."""
    names = list(files)
    if len(names) < 2:
        raise ReadingsError('give two files or more: the reference first')
    ref = files[names[0]]
    ref_conf = [r['confidence'] for r in ref if not is_failed(r) and r.get('confidence')
                is not None]
    if not ref_conf:
        raise ReadingsError(f'{names[0]} holds no reading: no reference to compare with')
    low = (float(np.percentile(ref_conf, LOW_PERCENTILE)) if low_confidence is None
           else low_confidence)
    scales = {r['scale'] for recs in files.values() for r in recs
              if not is_failed(r) and r.get('scale') is not None}
    # the model's other scales too (the selector's probabilities name them
    # all): a share of 0 today is a figure a --fail-if rule may name
    scales |= {_scale_of(k) for recs in files.values() for r in recs
               for k in (r.get('scale_probs') or {})} - {None}
    scales = sorted(scales, reverse=True)
    columns = {n: _columns(files[n], low, scales) for n in names}
    boots = {n: _boot(columns[n], _groups(files[n]), seed + i, resamples)
             for i, n in enumerate(names)}
    descriptions = dict({k: v[0] for k, v in FIGURES.items()},
                        **{f'scale:{s:g}': f'share read at {s:g}x' for s in scales})
    units = dict({k: v[1] for k, v in FIGURES.items()}, **{f'scale:{s:g}': 'pt' for s in scales})
    order = [k for k in list(FIGURES) + [f'scale:{s:g}' for s in scales]
             if any(k in columns[n] for n in names)]
    values = {n: {k: _value(columns[n][k]) if k in columns[n] else None for k in order}
              for n in names}
    tail = (1 - level) / 2
    changes, conf_tests, scale_tests = {}, {}, {}
    for n in names[1:]:
        changes[n] = {}
        for k in order:
            a, b = values[names[0]][k], values[n][k]
            if a is None or b is None:
                continue
            if units[k] == 'rel':
                if not a:
                    continue
                change, draws = b / a - 1, boots[n][k] / boots[names[0]][k] - 1
            else:
                change, draws = b - a, boots[n][k] - boots[names[0]][k]
            draws = draws[np.isfinite(draws)]
            lo, hi = ((float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)))
                      if len(draws) else (None, None))
            changes[n][k] = dict(change=change, low=lo, high=hi, unit=units[k],
                                 beyond_chance=lo is not None and (lo > 0 or hi < 0))
        conf_tests[n] = mann_whitney(
            ref_conf, [r['confidence'] for r in files[n] if not is_failed(r)
                       and r.get('confidence') is not None])
        count = [[sum(r.get('scale') == s for r in files[m] if not is_failed(r))
                  for s in scales] for m in (names[0], n)]
        scale_tests[n] = chi_square(*count)
    return dict(reference=names[0], low_confidence=low, level=level, resamples=resamples,
                figures={k: descriptions[k] for k in order}, units={k: units[k] for k in order},
                files=values, images={n: len(files[n]) for n in names}, changes=changes,
                confidence_test=conf_tests, scale_test=scale_tests)


def _scale_of(key) -> Optional[float]:
    try:
        return float(key)
    except (TypeError, ValueError):
        return None


def parse_rule(text: str) -> dict:
    """``NAME>LIMIT`` or ``NAME<LIMIT`` (``gflops>20``: mean GFLOPs up more
    than 20 %; ``confidence<-0.05``; ``low_confidence>10``: 10 pt more
    low-confidence readings; ``scale:1>15``). A ``ValueError`` saying why."""
    for op in ('>', '<'):
        if op in text:
            name, _, limit = text.partition(op)
            try:
                limit = float(limit)
            except ValueError:
                break
            name = name.strip()
            if name.startswith('scale:') and _scale_of(name[len('scale:'):]) is not None:
                name = f"scale:{_scale_of(name[len('scale:'):]):g}"  # scale:1.0 is scale:1
            return dict(rule=text, name=name, op=op, limit=limit)
    quote = ('' if '>' in text or '<' in text else
             "; quote each rule, as in 'gflops>20': unquoted, the shell takes > and < as "
             'redirections')
    raise ValueError(f'{text!r}: expected NAME>LIMIT or NAME<LIMIT (gflops>20, '
                     f'confidence<-0.05, low_confidence>10, scale:1>15){quote}')


def alerts(report: dict, rules: Sequence[dict]) -> List[dict]:
    """The rules a later file breaks: its change is beyond chance and past
    the limit in the rule's direction (limits in the figure's unit: % for
    ``gflops``, points for shares, the figure's own for the others). A
    ``ReadingsError`` for a rule naming no figure of the report."""
    known = list(report['figures'])
    out = []
    for rule in rules:
        if rule['name'] not in known:
            need = (' (measured with --crop-stats)' if rule['name'] in ('sharpness', 'brightness')
                    else '')
            raise ReadingsError(f"--fail-if {rule['rule']}: no figure {rule['name']!r} in these "
                                f"readings{need}; one of {', '.join(known)}")
        scale = 1 if report['units'][rule['name']] == 'abs' else 100
        for name, figures in report['changes'].items():
            c = figures.get(rule['name'])
            if c is None or not c['beyond_chance']:
                continue
            value = c['change'] * scale
            if (value > rule['limit']) if rule['op'] == '>' else (value < rule['limit']):
                out.append(dict(file=name, value=value, **rule))
    return out
