"""What the selector's choices are worth: against the oracle, image by image,
and against choosing scales without looking (at random in the selector's own
mix, or two fixed scales mixed to its FLOPs)."""
from typing import Dict, List, Optional, Sequence


def _key(scale: float) -> str:
    return f'{float(scale):g}'


def selector_choices(chosen: Sequence[float], correct: Sequence[bool],
                     oracle: Sequence[float], fixed: Dict[float, Sequence[bool]],
                     cost: Dict[float, float], selector_gflops: float) -> Optional[dict]:
    """The selector row's per-image choices judged against what the fixed
    scales read.

    Args:
        chosen, correct: per test image, the selector's scale and whether it read right.
        oracle: per image, the oracle selector's scale (its cheapest right one).
        fixed: per evaluated scale, whether the student reads each image right there.
        cost: the student's GFLOPs per evaluated scale.
        selector_gflops: the selector's own GFLOPs per image.

    Returns ``None`` where the selector chose a scale that was not evaluated
    (``--scales`` left it out), else a dict of:

    * ``per_scale``: for each scale the selector chose, ``images`` and ``accuracy``;
    * ``confusion``: ``{chosen: {oracle scale: images}}``, and ``too_dear`` /
      ``too_cheap`` / ``matched`` counts (an image no scale reads right has the
      smallest as its oracle scale, so sent anywhere dearer it is too dear);
    * ``random_at_mix``: each image read at a scale drawn at random with the
      selector's shares: the expected plate accuracy, and its GFLOPs (the
      selector's, less the selector's own);
    * ``fixed_at_flops``: the two fixed scales around the selector's GFLOPs mixed
      to equal them, the expected accuracy (None outside the fixed scales' range).
    """
    n = len(chosen)
    if not n or any(float(s) not in fixed for s in chosen):
        return None
    scales = sorted(fixed, reverse=True)
    acc = {s: sum(bool(c) for c in fixed[s]) / n for s in scales}
    per_scale, confusion = {}, {}
    for s in scales:
        idx = [i for i in range(n) if float(chosen[i]) == s]
        if idx:
            per_scale[_key(s)] = dict(images=len(idx),
                                      accuracy=sum(bool(correct[i]) for i in idx) / len(idx))
            confusion[_key(s)] = {_key(o): sum(float(oracle[i]) == o for i in idx)
                                  for o in scales}
    dear = sum(float(c) > float(o) for c, o in zip(chosen, oracle))
    cheap = sum(float(c) < float(o) for c, o in zip(chosen, oracle))
    mix = {s: sum(float(c) == s for c in chosen) / n for s in scales}
    student_gflops = sum(mix[s] * cost[s] for s in scales)
    total = student_gflops + selector_gflops
    return dict(
        per_scale=per_scale, confusion=confusion,
        too_dear=dear, too_cheap=cheap, matched=n - dear - cheap,
        accuracy=sum(bool(c) for c in correct) / n, gflops=total,
        random_at_mix=dict(accuracy=sum(mix[s] * acc[s] for s in scales),
                           gflops=student_gflops),
        fixed_at_flops=dict(accuracy=_interpolate([(cost[s], acc[s]) for s in scales], total),
                            gflops=total))


def _interpolate(points: List[tuple], x: float) -> Optional[float]:
    """Accuracy of mixing the two fixed scales whose costs bracket ``x``."""
    points = sorted(points)
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    if points and abs(x - points[-1][0]) <= 1e-12:
        return points[-1][1]
    return None


def choices_markdown(choices: dict) -> List[str]:
    """The report's section on the selector's choices."""
    from tabulate import tabulate
    pct = '{:.2f}'.format
    keys = list(next(iter(choices['confusion'].values())))
    lines = ['## The selector\'s choices', '',
             tabulate([('DLD + selector', pct(100 * choices['accuracy']),
                        f"{choices['gflops']:.4f}"),
                       ("random scales in the selector's mix (expected)",
                        pct(100 * choices['random_at_mix']['accuracy']),
                        f"{choices['random_at_mix']['gflops']:.4f}"),
                       ("fixed scales mixed to the selector's GFLOPs (expected)",
                        '-' if choices['fixed_at_flops']['accuracy'] is None else
                        pct(100 * choices['fixed_at_flops']['accuracy']),
                        f"{choices['fixed_at_flops']['gflops']:.4f}")],
                      headers=['choice', 'plate acc. (%)', 'GFLOPs / image'],
                      tablefmt='github', disable_numparse=True), '',
             'Images by the selector\'s scale (rows) and the oracle\'s (columns: the '
             'cheapest scale that reads the image right, the smallest where none does):', '',
             tabulate([[s, str(choices['per_scale'][s]['images']),
                        pct(100 * choices['per_scale'][s]['accuracy'])]
                       + [str(choices['confusion'][s][o]) for o in keys]
                       for s in choices['confusion']],
                      headers=['chosen', 'images', 'plate acc. (%)']
                      + [f'oracle {o}' for o in keys],
                      tablefmt='github', disable_numparse=True), '',
             f"{choices['matched']} images at the oracle's scale, {choices['too_dear']} "
             f"at a dearer one, {choices['too_cheap']} at a cheaper one (misread there).", '']
    return lines
