"""One answer per track from its frames' readings, and how sure it is."""
import functools
import math
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from dld.datasets.synth.plate_text import resolve_layout, text_matches

#: ``'text'``: whole readings vote; ``'chars'``: characters vote, position by position.
VOTE_METHODS = ('text', 'chars')

Frame = Tuple[int, str, float]  # (frame_idx, pred_text, pred_score)


def vote_track(frames: Sequence[Frame], layouts: Optional[Sequence[str]] = None,
               method: str = 'text') -> str:
    """The track's answer from its frames' ``(frame_idx, pred_text, pred_score)``.

    ``method='text'`` (default): the most frequent reading wins; a tie goes
    to the text whose frames have the larger summed ``pred_score`` (summed
    exactly, so the order of the additions cannot break the tie); if that
    ties too, to the text seen in the earliest frame, and then to the text
    that sorts first.

    ``method='chars'``: the readings of the most common length (ties as
    above) vote at each position, each with its frame's ``pred_score``, so
    that five readings each wrong at a different character still give the
    plate. The answer may then be one no frame read.

    Either way the result never depends on arrival order (ranks, workers
    and batch sizes deliver frames in other orders). A score that is no
    finite number (a diverged model's NaN) counts as 0: NaN compares with
    nothing, and the first text seen won.

    With ``layouts`` (names of ``dld.datasets.synth.LAYOUTS`` or patterns of
    ``L`` letter, ``N`` digit, ``A`` either: ``('brazilian', 'mercosur')``),
    only readings that fit one of them vote, when any does: a plate cannot
    read ``ABC12`` or ``AB1C234``, so such a reading, however often seen, is
    a misread. A track with no fitting reading is voted on by all. A
    character vote then takes the readings of the layout most of them fit
    (the first one listed, for a reading that fits several), since the
    characters of two layouts could mix into a text of neither.
    """
    if method not in VOTE_METHODS:
        raise ValueError(f'vote method must be one of {VOTE_METHODS}, got {method!r}')
    layouts = as_layouts(layouts)
    if layouts:
        which = layout_classifier(layouts)
        fitting = [(f, text, score, which(text)) for f, text, score in frames]
        fitting = [x for x in fitting if x[3] is not None]
        if fitting and method == 'chars':
            kind = _most_voted([(f, str(k), score) for f, _, score, k in fitting])
            fitting = [x for x in fitting if str(x[3]) == kind]
        frames = [x[:3] for x in fitting] or frames
    if method == 'text':
        return _most_voted([(f, text, score) for f, text, score in frames])
    length = int(_most_voted([(f, str(len(text)), score) for f, text, score in frames]))
    voters = [f for f in frames if len(f[1]) == length]
    return ''.join(_most_voted([(f, text[i], score) for f, text, score in voters],
                               weighted=True) for i in range(length))


def _most_voted(votes: Sequence[Frame], weighted: bool = False) -> str:
    """The value with the most votes, then the larger summed score (or,
    ``weighted``, the other way round), the earliest frame, the value that
    sorts first."""
    scores: Dict[str, List[float]] = defaultdict(list)
    first_frame: Dict[str, int] = {}
    for frame_idx, value, score in votes:
        scores[value].append(_finite(score))
        first_frame[value] = min(frame_idx, first_frame.get(value, frame_idx))

    def rank(v):
        total, count = math.fsum(scores[v]), len(scores[v])
        return ((-total, -count) if weighted else (-count, -total)) + (first_frame[v], v)
    return min(scores, key=rank)


def _finite(score: float) -> float:
    """``score``, or 0 where it is no finite number (a diverged model's)."""
    return score if math.isfinite(score) else 0.0


def track_confidence(frames: Sequence[Frame], answer: str) -> float:
    """How sure the track's ``answer`` is: the mean ``pred_score`` of the
    frames that read it; where none did (a character vote), the mean score
    of the frames weighted by the share of their characters that agree with
    it, position by position (0 for a frame of another length). A score
    that is no finite number counts as 0, as in the vote (inf and -inf
    were a ValueError, NaN a NaN in the logged metrics)."""
    frames = [(f, text, _finite(score)) for f, text, score in frames]
    agree = [score for _, text, score in frames if text == answer]
    if agree:
        return math.fsum(agree) / len(agree)
    if not frames:
        return 0.0
    shares = [sum(a == b for a, b in zip(text, answer)) / len(answer)
              if answer and len(text) == len(answer) else 0.0 for _, text, _ in frames]
    return math.fsum(s * score for s, (_, _, score) in zip(shares, frames)) / len(frames)


def as_layouts(layouts: Union[None, str, Sequence[str]]) -> Optional[Tuple[str, ...]]:
    """``layouts`` as a tuple, or None for none; one string is one layout
    (``'mercosur'``, ``'LLLNLNN'``), not a sequence of one-letter ones."""
    if not layouts:
        return None
    return (layouts, ) if isinstance(layouts, str) else tuple(layouts)


@functools.lru_cache(maxsize=32)
def layout_classifier(layouts: Tuple[str, ...]) -> Callable[[str], Optional[int]]:
    """The index of the first of ``layouts`` (names or patterns, as
    :func:`vote_track` takes them) that a text fits, or None; an unknown
    name is a ``ValueError``."""
    patterns = [resolve_layout(layout)[1] for layout in as_layouts(layouts) or ()]
    return lambda text: next((i for i, p in enumerate(patterns) if text_matches(text, p)),
                             None)


def layout_matcher(layouts: Union[str, Sequence[str]]) -> Callable[[str], bool]:
    """Whether a text fits one of ``layouts``; an unknown name is a ``ValueError``."""
    which = layout_classifier(as_layouts(layouts) or ())
    return lambda text: which(text) is not None
