"""What a file of readings says: accuracy, mistakes, confidence, and two files compared.

The records are those ``tools/infer.py --out`` writes, one per image
(docs/inference.md, "One record per image"), and the track votes of its
``.tracks.jsonl``. Everything here is a pure function of lists of such dicts
(``tools/analysis/analyze_readings.py`` prints them):

* an image that could not be read (its ``error`` set) is counted as failed,
  and as not read right when it is labelled; it is never dropped;
* an unlabelled image (no ``gt_text``) is counted and left out of every
  accuracy;
* a labelled image is right as its ``read_right`` says (as the config's
  plate metric counts); records written before infer.py wrote that key get
  it computed here (:func:`fill_read_right`), case-insensitively unless
  asked otherwise, as the metric counts by default.
"""
import json
import os.path as osp
import re
import statistics
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from dld.utils.char_names import upper_each
from dld.utils.json_values import not_a_number

from .plate_matching import plate_read_right

# What an analysis needs of a record; an error record has them all, valued null.
RECORD_KEYS = ('input', 'path', 'text', 'confidence', 'scale', 'gflops', 'gflops_teacher',
               'error')
# The ONNX reader's records (``dld/deploy/onnx_reader.py --json``) have no
# ``path`` (their ``input`` is one, but for these) and no ``gflops_teacher``
_NOT_A_PATH = re.compile(r'(array|bytes|input)\[\d+\]')
TRACK_KEYS = ('track_id', 'text')
# Values an analysis computes with: a number or null (a hand-edited "abc"
# was a TypeError in a mean, not a line naming the record)
NUMBER_KEYS = ('confidence', 'scale', 'gflops', 'gflops_teacher')
# The reject rule's fixed thresholds (keep a reading when confidence >= t).
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
ECE_BINS = 10


class ReadingsError(ValueError):
    """A file of readings that cannot be analysed; the message says where and why."""


# -- reading the files --------------------------------------------------------

def load_records(path: str) -> List[dict]:
    """The records of an infer.py ``--out`` file, one per non-blank line, or
    of the ONNX reader's ``--json`` (whose records lack ``path``, taken from
    their ``input``, and ``gflops_teacher``, None)."""
    return _read_jsonl(path, RECORD_KEYS, 'an infer.py --out record (or an onnx_reader.py '
                       '--json one)')


def load_tracks(path: str) -> List[dict]:
    """The track votes of an infer.py ``.tracks.jsonl`` file."""
    return _read_jsonl(path, TRACK_KEYS, 'an infer.py track vote')


def _read_jsonl(path: str, keys: Sequence[str], what: str) -> List[dict]:
    try:
        with open(path, 'rb') as f:
            if f.read(1) == b'\x80':  # a pickle's first byte
                raise ReadingsError(f'{path} is a pickle (tools/test.py --dump?); this reads '
                                    'the JSON lines of tools/infer.py --out')
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ReadingsError(f'cannot read {path}: {getattr(err, "strerror", None) or err}') \
            from err
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise ReadingsError(f'{path}:{number}: not JSON ({err.msg}, column {err.colno}); '
                                f'expected one JSON object a line, {what}') from err
        except RecursionError:
            raise ReadingsError(f'{path}:{number}: not JSON (nested too deeply); expected one '
                                f'JSON object a line, {what}') from None
        if not isinstance(rec, dict):
            raise ReadingsError(f'{path}:{number}: a JSON {type(rec).__name__}, not an '
                                f'object; expected {what}')
        if keys is RECORD_KEYS and 'scales_read' in rec and 'input' in rec:
            # the ONNX reader's record: its input is the path read (or array[i]...)
            if 'path' not in rec:
                rec['path'] = (rec['input'] if isinstance(rec['input'], str)
                               and not _NOT_A_PATH.fullmatch(rec['input']) else None)
            rec.setdefault('gflops_teacher', None)
        missing = [k for k in keys if k not in rec]
        if missing:
            raise ReadingsError(f'{path}:{number}: missing key(s) {", ".join(missing)}; '
                                f'expected {what}')
        for key in (k for k in NUMBER_KEYS if k in keys):
            why = not_a_number(rec[key])
            if why:
                raise ReadingsError(f'{path}:{number}: {key} is {why}; expected {what}')
        out.append(rec)
    return out


# -- counting right and wrong -------------------------------------------------

def is_labelled(rec: dict) -> bool:
    """Whether the record (image or track) carries a label, as infer.py counts."""
    return bool(rec.get('gt_text'))


def is_failed(rec: dict) -> bool:
    return rec.get('error') is not None


def fill_read_right(records: Iterable[dict], case_sensitive: bool = False
                    ) -> Tuple[List[dict], int]:
    """The records (copied) with ``read_right`` on every labelled one, and how
    many lacked it: computed as the plate metric counts, ``case_sensitive``
    as the config says (the metric's default: not); a failed or unread
    labelled record is not right. Works on track votes as well."""
    out, computed = [], 0
    for rec in records:
        rec = dict(rec)
        if is_labelled(rec) and 'read_right' not in rec:
            text = None if is_failed(rec) else rec.get('text')
            rec['read_right'] = text is not None and plate_read_right(
                text, rec['gt_text'], case_sensitive)
            computed += 1
        out.append(rec)
    return out, computed


def _right(rec: dict) -> bool:
    return bool(rec.get('read_right'))


def _mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def _ratio(num: int, den: int) -> Optional[float]:
    return num / den if den else None


def summary(records: Sequence[dict]) -> dict:
    """Images, labelled ones, how many read right (failures count as wrong),
    failures, and the mean cost of a reading against the teacher's."""
    read = [r for r in records if not is_failed(r)]
    labelled = [r for r in records if is_labelled(r)]
    right = sum(_right(r) for r in labelled)
    gflops = [r['gflops'] for r in read if r.get('gflops') is not None]
    teacher = [r['gflops_teacher'] for r in read if r.get('gflops_teacher') is not None]
    mean, ref = _mean(gflops), _mean(teacher)
    return dict(
        images=len(records), read=len(read), failed=len(records) - len(read),
        labelled=len(labelled), unlabelled=len(records) - len(labelled),
        failed_labelled=sum(is_failed(r) for r in labelled),
        read_right=right, accuracy=_ratio(right, len(labelled)),
        **_interval(labelled),
        mean_gflops=mean, gflops_teacher=ref,
        saved=1 - mean / ref if mean is not None and ref else None)


def _interval(labelled: Sequence[dict]) -> dict:
    """``accuracy_low``, ``accuracy_high``: the accuracy's 95 % interval, the
    frames of one track counted as alike as they read
    (:func:`dld.evaluation.accuracy_interval.accuracy_interval`, as reports
    give it); None without labelled images."""
    if not labelled:
        return dict(accuracy_low=None, accuracy_high=None)
    from dld.evaluation.accuracy_interval import accuracy_interval
    groups = [r['track_id'] if r.get('track_id') is not None else f'image:{i}'
              for i, r in enumerate(labelled)]
    found = accuracy_interval([_right(r) for r in labelled], groups)
    return dict(accuracy_low=found['low'], accuracy_high=found['high'])


#: The figures of a crop's look (``dld.utils.crop_stats.image_stats``) that
#: ``accuracy_by_scale`` gives per chosen scale, where records carry ``crop_stats``.
CROP_FIGURES = ('sharpness', 'brightness')


def accuracy_by_scale(records: Sequence[dict]) -> List[dict]:
    """One row per chosen scale, largest first, then one for the failed
    images (``scale`` None): how many, their share of all images, the
    accuracy of the labelled ones, their mean confidence; and what the
    crops sent there are like, to see whether the selector sends narrow,
    blurred or dark ones to larger scales: the median ``image_size``
    (``median_height``, ``median_width``, None where no record has it) and,
    where records carry ``crop_stats`` (``analyze_readings.py
    --crop-stats``), the median of each of :data:`CROP_FIGURES`
    (``median_sharpness``...)."""
    groups: Dict[Optional[float], List[dict]] = defaultdict(list)
    for r in records:
        groups[None if is_failed(r) else r['scale']].append(r)
    order = sorted((s for s in groups if s is not None), reverse=True)
    order += [None] if None in groups else []
    rows = []
    for scale in order:
        recs = groups[scale]
        labelled = [r for r in recs if is_labelled(r)]
        confs = [r['confidence'] for r in recs if r.get('confidence') is not None]
        sizes = [r['image_size'] for r in recs if _is_size(r.get('image_size'))]
        rows.append(dict(scale=scale, count=len(recs), share=len(recs) / len(records),
                         labelled=len(labelled),
                         accuracy=_ratio(sum(_right(r) for r in labelled), len(labelled)),
                         mean_confidence=_mean(confs),
                         median_height=_median([h for h, _ in sizes]),
                         median_width=_median([w for _, w in sizes]),
                         **{f'median_{k}': _median([
                             r['crop_stats'][k] for r in recs
                             if isinstance(r.get('crop_stats'), dict)
                             and isinstance(r['crop_stats'].get(k), (int, float))])
                            for k in CROP_FIGURES}))
    return rows


def _is_size(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, (int, float)) for v in value)


def _median(values: Sequence[float]) -> Optional[float]:
    return float(statistics.median(values)) if values else None


def accuracy_by_layout(records: Sequence[dict]) -> List[dict]:
    """One row per plate layout of the labels (the generator's named layouts,
    ``brazilian`` ``LLL-NNNN`` and ``mercosur`` ``LLLNLNN``, in that order;
    ``other`` for a label that fits neither), for the labelled images: how
    many, their accuracy, the images that could not be read, their misreads,
    and how many of those read a text
    that fits no layout: the ones a layout rule (``--layouts``,
    docs/inference.md) could refuse or repair, as against misreads of a
    valid plate. Layouts without images are left out, and where no label
    fits a named layout (words, another country's plates) there is no
    table: its one row would call every misread one a layout rule could
    catch."""
    from dld.datasets.synth.plate_text import LAYOUTS
    from dld.evaluation.metrics import layout_classifier
    names = tuple(LAYOUTS)
    which = layout_classifier(names)
    groups: Dict[str, List[dict]] = defaultdict(list)
    for r in records:
        if is_labelled(r):
            i = which(upper_each(r['gt_text']))
            groups['other' if i is None else names[i]].append(r)
    if not any(groups.get(layout) for layout in names):
        return []
    rows = []
    for layout in [*names, 'other']:
        recs = groups.get(layout)
        if not recs:
            continue
        wrong = [r for r in recs if not _right(r)]
        read_wrong = [r for r in wrong if not is_failed(r)]
        rows.append(dict(layout=layout, labelled=len(recs),
                         accuracy=_ratio(len(recs) - len(wrong), len(recs)),
                         # not read at all: wrong, but no misread
                         failed=len(wrong) - len(read_wrong),
                         misreads=len(read_wrong),
                         misreads_fitting_no_layout=sum(
                             which(upper_each(r['text'] or '')) is None for r in read_wrong)))
    return rows


def misreads(records: Sequence[dict]) -> List[dict]:
    """The labelled images read but not right, most confident first (a
    confident mistake is what a reject rule cannot catch); equal
    confidences keep the file's order."""
    wrong = [r for r in records if is_labelled(r) and not is_failed(r) and not _right(r)]
    return sorted(wrong, key=lambda r: -(r.get('confidence') or 0.0))


def failures(records: Sequence[dict]) -> List[dict]:
    """The images that could not be read, in the file's order."""
    return [r for r in records if is_failed(r)]


def image_key(rec: dict) -> str:
    """What names an image across files: its path, or its input (an array's
    ``array[i]``) where it has none."""
    return rec['path'] if rec.get('path') is not None else str(rec['input'])


# -- character errors ---------------------------------------------------------

def align(gt: str, text: str, case_sensitive: bool = False) -> List[Tuple[str, str, str, int]]:
    """The edits that turn the label ``gt`` into the reading ``text``, fewest
    first: ``(kind, label char, read char, position)``, kind
    ``'substitution'``, ``'deletion'`` (a label character not read; read
    char ``''``) or ``'insertion'`` (a character read that the label lacks;
    label char ``''``). ``position`` is the label character's (1-based); an
    insertion's is the one it comes before, ``len(gt) + 1`` after the end.

    A Levenshtein table walked back from its corner, not
    ``difflib.SequenceMatcher``: the matcher anchors on the longest common
    blocks (Ratcliff-Obershelp), which is not a fewest-edits alignment, and
    its ``replace`` opcodes pair runs of unequal length ('AB' -> 'C'), from
    which one substitution pair per character cannot be read. The walk
    prefers the diagonal (a match or one substitution) over a deletion plus
    an insertion of the same cost, so 'ABC' read 'ABD' is C -> D.
    """
    def same(a: str, b: str) -> bool:
        return a == b if case_sensitive else upper_each(a) == upper_each(b)

    n, m = len(gt), len(text)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j - 1] + (not same(gt[i - 1], text[j - 1])),
                          d[i - 1][j] + 1, d[i][j - 1] + 1)
    edits = []
    i, j = n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (not same(gt[i - 1], text[j - 1])):
            if not same(gt[i - 1], text[j - 1]):
                edits.append(('substitution', gt[i - 1], text[j - 1], i))
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            edits.append(('deletion', gt[i - 1], '', i))
            i -= 1
        else:
            edits.append(('insertion', '', text[j - 1], i + 1))
            j -= 1
    return edits[::-1]


def judged_case_sensitively(records: Sequence[dict]) -> bool:
    """Whether the records' ``read_right`` compared case (infer.py scores
    as the config's plate metric does, case-sensitively where a word
    model's config says so): as their ``case_sensitive`` says, or, in
    records written before infer.py wrote it, where some reading that
    differs from its label in case alone is marked wrong (a file without
    one says nothing: 'abd' read for 'AbC' was then one edit, not two)."""
    said = {r['case_sensitive'] for r in records
            if 'read_right' in r and isinstance(r.get('case_sensitive'), bool)}
    if said:
        return True in said
    return any(is_labelled(r) and not is_failed(r) and r.get('read_right') is False
               and r.get('text') is not None and r['text'] != r['gt_text']
               and upper_each(r['text']) == upper_each(r['gt_text']) for r in records)


def character_errors(records: Sequence[dict], case_sensitive: bool = False) -> dict:
    """The misread images' edits counted: ``confusions`` (label char -> read
    char, with insertions and deletions, most frequent first, ties by
    label then read char), ``positions`` (per label position, 1-based, the
    edits there, ``images``: the misread images with an edit there, and
    ``rate``: those images over the read labelled images whose label has
    that position, so at most 1 however many characters one reading
    inserts; an insertion after the last character counts in the row
    ``'end'``), and ``edit_distances`` (misreads by their number of
    edits). Case counts where ``case_sensitive``, or where the records were
    scored so (:func:`judged_case_sensitively`): 'hello' read for 'Hello'
    is then an edit, not a misread of no edit."""
    case_sensitive = case_sensitive or judged_case_sensitively(records)
    wrong = misreads(records)
    read_labelled = [r for r in records if is_labelled(r) and not is_failed(r)]
    pairs: Counter = Counter()
    kinds: Dict[Tuple[str, str], str] = {}
    at: Dict[object, Counter] = defaultdict(Counter)
    images_at: Counter = Counter()
    distances: Counter = Counter()
    for r in wrong:
        gt = r['gt_text']
        edits = align(gt, r['text'] or '', case_sensitive)
        distances[len(edits)] += 1
        places = set()
        for kind, a, b, pos in edits:
            pairs[a, b] += 1
            kinds[a, b] = kind
            place = 'end' if pos > len(gt) else pos
            at[place][kind] += 1
            places.add(place)
        images_at.update(places)
    confusions = [dict(gt=a, read=b, kind=kinds[a, b], count=c)
                  for (a, b), c in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))]
    longest = max((len(r['gt_text']) for r in read_labelled), default=0)
    positions = []
    for pos in [*range(1, longest + 1), 'end']:
        counts = at.get(pos, Counter())
        total = sum(counts.values())
        if pos == 'end' and not total:
            continue
        having = (sum(len(r['gt_text']) >= pos for r in read_labelled)
                  if pos != 'end' else len(read_labelled))
        positions.append(dict(position=pos, substitutions=counts['substitution'],
                              deletions=counts['deletion'], insertions=counts['insertion'],
                              errors=total, images=images_at[pos],
                              rate=_ratio(images_at[pos], having)))
    return dict(misreads=len(wrong), confusions=confusions, positions=positions,
                edit_distances={k: distances[k] for k in sorted(distances)})


# -- confidence ---------------------------------------------------------------

def _confidence(rec: dict) -> float:
    """A reading's confidence; 0 for an image with none (it failed)."""
    conf = None if is_failed(rec) else rec.get('confidence')
    return 0.0 if conf is None else float(conf)


def _scored(records: Sequence[dict]) -> List[Tuple[float, bool]]:
    """``(confidence, right)`` of the labelled images read."""
    return [(float(r['confidence']), _right(r)) for r in records
            if is_labelled(r) and not is_failed(r) and r.get('confidence') is not None]


def risk_coverage(records: Sequence[dict], thresholds: Sequence[float] = THRESHOLDS,
                  target_accuracy: Optional[float] = None) -> dict:
    """Confidence as a reject rule over the labelled images: keep a reading
    when ``confidence >= t``. Per threshold (0 first: keep all), the share
    kept and the accuracy of those kept. A failed image has no reading and
    counts as confidence 0: rejected by any threshold above 0, so the row of
    0 is the overall accuracy.

    ``target``: the lowest threshold among the confidences met (so the
    most kept) whose kept readings are at least ``target_accuracy`` right,
    or None where none is; equal confidences are kept or rejected together.
    """
    items = sorted(((_confidence(r), _right(r)) for r in records if is_labelled(r)),
                   key=lambda x: -x[0])
    total = len(items)

    def row(t: float) -> dict:
        kept = [ok for c, ok in items if c >= t]
        return dict(threshold=t, kept=len(kept), coverage=_ratio(len(kept), total),
                    accuracy=_ratio(sum(kept), len(kept)))

    rows = [row(t) for t in sorted({0.0, *thresholds})]
    target = None
    if target_accuracy is not None:
        reached = None
        kept = right = k = 0
        while k < total:  # one group of equal confidences at a time
            c = items[k][0]
            while k < total and items[k][0] == c:
                kept, right = kept + 1, right + items[k][1]
                k += 1
            if right / kept >= target_accuracy - 1e-12:
                reached = c
        target = None if reached is None else row(reached)
    return dict(labelled=total, rows=rows, target=target,
                target_accuracy=target_accuracy)


def calibration(records: Sequence[dict], bins: int = ECE_BINS) -> Optional[dict]:
    """How well the confidences of the read labelled images match how often
    they are right: the expected calibration error over ``bins`` equal-width
    bins of ``[0, 1]``, the bins, and whether the model is over-confident
    (its mean confidence above its accuracy) or under-confident. None
    without such images. Failed images have no confidence and are left out."""
    items = _scored(records)
    if not items:
        return None
    binned: List[List[Tuple[float, bool]]] = [[] for _ in range(bins)]
    for c, ok in items:
        binned[min(max(int(c * bins), 0), bins - 1)].append((c, ok))
    rows, ece = [], 0.0
    for b, members in enumerate(binned):
        conf = _mean([c for c, _ in members])
        acc = _mean([ok for _, ok in members])
        if members:
            ece += len(members) / len(items) * abs(acc - conf)
        rows.append(dict(low=b / bins, high=(b + 1) / bins, count=len(members),
                         mean_confidence=conf, accuracy=acc))
    mean_conf = _mean([c for c, _ in items])
    acc = _mean([ok for _, ok in items])
    gap = mean_conf - acc
    verdict = ('over-confident' if gap > 0.01 else 'under-confident' if gap < -0.01
               else 'calibrated on the whole')
    return dict(images=len(items), ece=ece, mean_confidence=mean_conf, accuracy=acc,
                gap=gap, verdict=verdict, bins=rows)


def auroc(records: Sequence[dict]) -> Optional[float]:
    """How well confidence tells right from wrong readings (read labelled
    images): the chance that a right one is more confident than a wrong one,
    ties counting half (Mann-Whitney, from average ranks). None without
    both kinds."""
    items = _scored(records)
    pos = sum(ok for _, ok in items)
    neg = len(items) - pos
    if not pos or not neg:
        return None
    items.sort(key=lambda x: x[0])
    rank_sum, k = 0.0, 0
    while k < len(items):
        end = k
        while end < len(items) and items[end][0] == items[k][0]:
            end += 1
        mid = (k + 1 + end) / 2  # the average of ranks k+1 .. end
        rank_sum += mid * sum(ok for _, ok in items[k:end])
        k = end
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


# -- two files ----------------------------------------------------------------

def match_records(a: Sequence[dict], b: Sequence[dict], name_a: str, name_b: str,
                  same_labels: bool = True) -> List[Tuple[dict, dict]]:
    """The records of two files paired by image (:func:`image_key`; an image
    listed twice pairs its first with the other's first, and so on), in
    ``a``'s order. A ``ReadingsError`` naming both files where they hold
    different images or label an image differently."""
    def keyed(records, key_of=image_key):
        seen: Counter = Counter()
        out = {}
        for r in records:
            key = key_of(r)
            out[key, seen[key]] = r
            seen[key] += 1
        return out

    ka, kb = keyed(a), keyed(b)
    if set(ka) != set(kb):
        # one image named two ways: a folder's images were absolute in files
        # written before they were named as the folder was given, and a
        # folder given as 'imgs' or './imgs' or absolute names them otherwise
        fa, fb = keyed(a, _file_key), keyed(b, _file_key)
        if set(fa) == set(fb):
            ka, kb = fa, fb
    only_a = [k for k in ka if k not in kb]
    only_b = [k for k in kb if k not in ka]
    if only_a or only_b:
        said = []
        for keys, name in ((only_a, name_a), (only_b, name_b)):
            if keys:
                said.append(f'{len(keys)} only in {name} (first: {keys[0][0]})')
        raise ReadingsError(f'{name_a} and {name_b} hold different images: '
                            f'{"; ".join(said)}. Compare readings of the same images.')
    relabelled = [k for k in ka if ka[k].get('gt_text') != kb[k].get('gt_text')]
    if relabelled and same_labels:
        k = relabelled[0]
        bare = [n for n, keyed_ in ((name_a, ka), (name_b, kb))
                if not any(is_labelled(r) for r in keyed_.values())]
        if len(bare) == 1:
            raise ReadingsError(
                f'{name_a} and {name_b} label {len(relabelled)} image(s) differently: '
                f'{bare[0]} holds no labels (the ONNX reader\'s records have none) and the '
                'other does: label both as the other is (analyze_readings.py --labels '
                'LABELLED.jsonl, label_records)')
        raise ReadingsError(
            f'{name_a} and {name_b} label {len(relabelled)} image(s) differently, first '
            f'{k[0]}: {ka[k].get("gt_text")!r} in {name_a}, {kb[k].get("gt_text")!r} in '
            f'{name_b}. Compare readings of the same labelled images.')
    return [(ka[k], kb[k]) for k in ka]


#: What :func:`label_records` takes from the labelled readings.
LABEL_KEYS = ('gt_text', 'track_id', 'frame_idx', 'annotation')


def label_records(records: Sequence[dict], labelled: Sequence[dict], name: str,
                  name_labelled: str) -> Tuple[List[dict], int]:
    """``records`` (copied) labelled as ``labelled``, readings of the same
    images that carry labels (``tools/infer.py LABEL_FILE --out``), paired
    by image as two files are compared: the ONNX reader's records, which
    have none, get their ``gt_text``, ``track_id`` and ``annotation``, and
    ``read_right`` as the labelled file's case rule scores them. A record
    labelled already keeps its label (a ``ReadingsError`` where it is
    another). Returns the records and how many were labelled here."""
    pairs = match_records(records, labelled, name, name_labelled, same_labels=False)
    out, done = [], 0
    for rec, ref in pairs:
        rec = dict(rec)
        if is_labelled(rec):
            if is_labelled(ref) and rec['gt_text'] != ref['gt_text']:
                raise ReadingsError(
                    f'{name} and {name_labelled} label {image_key(rec)} differently: '
                    f'{rec["gt_text"]!r} and {ref["gt_text"]!r}')
        elif is_labelled(ref):
            rec.update({k: ref.get(k) for k in LABEL_KEYS})
            case_sensitive = bool(ref.get('case_sensitive', False))
            text = None if is_failed(rec) else rec.get('text')
            rec.update(read_right=text is not None and plate_read_right(
                text, rec['gt_text'], case_sensitive), case_sensitive=case_sensitive)
            done += 1
        out.append(rec)
    return out, done


def _file_key(rec: dict) -> str:
    """The file a record read, where it is there to be found from here (its
    real path), else :func:`image_key`."""
    path = rec.get('path')
    if isinstance(path, str) and osp.isfile(path):
        return osp.realpath(path)
    return image_key(rec)


def scipy_stats():
    """``scipy.stats``; where scipy is missing (a checkout pulled without
    installing again: scipy is DLD's since 2026-12-08), an error that says
    what to install, to a Python caller too (a tool says it in one line,
    :mod:`dld.tool_start`, by the error's ``name``)."""
    try:
        import scipy.stats
    except ModuleNotFoundError as err:
        if (err.name or '').split('.')[0] != 'scipy':
            raise
        raise ModuleNotFoundError(
            f"{err}: DLD needs scipy for its statistical tests (since 2026-12-08): install "
            "DLD again, `pip install -e .` from the checkout, or `pip install scipy`",
            name=err.name) from err
    return scipy.stats


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: of ``b + c`` discordant images, ``b``
    read by one file only and ``c`` by the other only, how likely a split
    this uneven is if either is as likely (scipy's binomial test, p = 1/2;
    a sum of whole binomials was quadratic: 11 s of comparing two files of
    50,000 images, 14,700 discordant)."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, float(scipy_stats().binomtest(min(b, c), n, 0.5).pvalue))


def compare(a: Sequence[dict], b: Sequence[dict], name_a: str, name_b: str,
            case_sensitive: bool = False) -> dict:
    """Two files' readings of the same labelled images: their accuracies,
    how many both, only one, or neither read right, the exact McNemar
    p-value of the discordant ones, and those images (each list sorted by
    the wrong file's confidence, most confident first; a failure last).
    ``case_sensitive``: for records that lack ``read_right``
    (:func:`fill_read_right`)."""
    a, b = (fill_read_right(x, case_sensitive)[0] for x in (a, b))
    matched = match_records(a, b, name_a, name_b)
    pairs = [(ra, rb) for ra, rb in matched if is_labelled(ra)]
    both = [p for p in pairs if _right(p[0]) and _right(p[1])]
    only_a = [p for p in pairs if _right(p[0]) and not _right(p[1])]
    only_b = [p for p in pairs if not _right(p[0]) and _right(p[1])]
    neither = len(pairs) - len(both) - len(only_a) - len(only_b)

    def row(ra, rb):
        return dict(path=image_key(ra), gt=ra['gt_text'], text_a=ra.get('text'),
                    confidence_a=ra.get('confidence'), text_b=rb.get('text'),
                    confidence_b=rb.get('confidence'))

    def confident_first(rows, side):
        return sorted(rows, key=lambda r: -(r[f'confidence_{side}'] or 0.0))

    return dict(
        file_a=name_a, file_b=name_b, images=len(a), labelled=len(pairs),
        accuracy_a=_ratio(len(both) + len(only_a), len(pairs)),
        accuracy_b=_ratio(len(both) + len(only_b), len(pairs)),
        both=len(both), only_a=len(only_a), only_b=len(only_b), neither=neither,
        p_value=mcnemar_p(len(only_a), len(only_b)),
        by_track=_difference_by_track(pairs), agreement=agreement(matched),
        only_a_reads=confident_first([row(*p) for p in only_a], 'b'),
        only_b_reads=confident_first([row(*p) for p in only_b], 'a'))


def _choice(rec: dict) -> Optional[str]:
    """The selector's choice (its likeliest candidate), where it chose."""
    probs = rec.get('scale_probs')
    if not isinstance(probs, dict) or not probs:
        return None
    return max(probs, key=lambda k: probs[k])


def agreement(pairs: Sequence[Tuple[dict, dict]]) -> dict:
    """Whether two readings of the same images read them alike, labelled or
    not (an int8 export against its float one, two runs of one model):
    of the images both read (``read``), how many got another text
    (``texts_differ``, compared exactly), another kept scale
    (``scales_differ``), another selector choice (``choices_differ``: the
    likeliest of ``scale_probs``, where both have them, ``chosen`` of
    them) and the largest difference of one scale's probability
    (``max_prob_difference``); ``failed_differ``: images one read and the
    other could not; ``differing``: the images read otherwise (text or
    scale), in the files' order."""
    read = [(ra, rb) for ra, rb in pairs if not is_failed(ra) and not is_failed(rb)]
    chosen = [(ra, rb) for ra, rb in read if _choice(ra) is not None
              and _choice(rb) is not None]
    gaps = [abs(ra['scale_probs'][k] - rb['scale_probs'].get(k, 0.0))
            for ra, rb in chosen for k in ra['scale_probs']
            if isinstance(ra['scale_probs'][k], (int, float))
            and isinstance(rb['scale_probs'].get(k, 0.0), (int, float))]
    differing = [dict(path=image_key(ra), gt=ra.get('gt_text'), text_a=ra.get('text'),
                      text_b=rb.get('text'), scale_a=ra.get('scale'), scale_b=rb.get('scale'),
                      confidence_a=ra.get('confidence'), confidence_b=rb.get('confidence'))
                 for ra, rb in read
                 if ra.get('text') != rb.get('text') or ra.get('scale') != rb.get('scale')]
    return dict(images=len(pairs), read=len(read),
                failed_differ=sum(is_failed(ra) != is_failed(rb) for ra, rb in pairs),
                texts_differ=sum(ra.get('text') != rb.get('text') for ra, rb in read),
                scales_differ=sum(ra.get('scale') != rb.get('scale') for ra, rb in read),
                chosen=len(chosen),
                choices_differ=sum(_choice(ra) != _choice(rb) for ra, rb in chosen),
                max_prob_difference=max(gaps) if gaps else None, differing=differing)


def _difference_by_track(pairs: Sequence[Tuple[dict, dict]]) -> Optional[dict]:
    """A's accuracy minus B's with a 95 % interval from a bootstrap over
    tracks, where the images come in tracks of several frames (McNemar
    counts frames as independent, which the frames of one plate are not,
    so its p is too small there); None otherwise."""
    tracks = [ra.get('track_id') for ra, _ in pairs]
    if not pairs or None in tracks or len(set(tracks)) in (1, len(tracks)):
        return None
    from dld.evaluation.paired_bootstrap import paired_difference
    return paired_difference([_right(ra) for ra, _ in pairs], [_right(rb) for _, rb in pairs],
                             tracks)


# -- tracks -------------------------------------------------------------------

def track_analysis(records: Sequence[dict], tracks: Sequence[dict]) -> dict:
    """The track votes against their labels: the accuracy of the labelled
    tracks (a track whose every frame failed is wrong), and the tracks whose
    vote is wrong although some frame read the label (what a better vote
    could win), in the tracks file's order, and the confidence gap between
    right and wrong votes (``confidence_right``, ``confidence_wrong``,
    ``confidence_gap``, where there are both). ``records`` and ``tracks``
    carry ``read_right`` (:func:`fill_read_right`)."""
    frames: Dict[str, List[dict]] = defaultdict(list)
    for r in records:
        frames[r.get('track_id')].append(r)
    labelled = [t for t in tracks if is_labelled(t)]
    right = sum(_right(t) for t in labelled)
    lost = []
    for t in labelled:
        own = frames.get(t['track_id'], [])
        frames_right = sum(_right(r) for r in own if is_labelled(r))
        if not _right(t) and frames_right:
            lost.append(dict(track_id=t['track_id'], gt=t['gt_text'], text=t.get('text'),
                             votes=t.get('votes'), num_frames=t.get('num_frames', len(own)),
                             frames_right=frames_right, confidence=t.get('confidence')))
    from dld.evaluation.metrics import confidence_gap
    # the ICPR challenge's tie-breaker, as infer.py and TrackAccuracyMetric give it
    gap = confidence_gap((_right(t), t.get('confidence') or 0.0) for t in labelled)
    return dict(tracks=len(tracks), labelled=len(labelled), read_right=right,
                accuracy=_ratio(right, len(labelled)), wrong_but_read=lost,
                without_records=sum(t['track_id'] not in frames for t in tracks), **gap)


# -- likely label errors -----------------------------------------------------

def label_suspects(records: Sequence[dict], case_sensitive: bool = False) -> List[dict]:
    """The labelled tracks that no frame read right, likeliest label error
    first: where a model that reads most plates reads one track's frames
    alike, and confidently, as something else, the label is the first
    suspect (a swapped O/0, a character left out, another track's label,
    HR frames of another plate read by an HR model).

    Per track (``track_id``; an image without one is its own): ``votes``,
    the read frames whose reading is the most frequent one, ``text`` (ties
    to the larger summed confidence), ``confidence`` the mean over those
    frames, and ``score`` = ``votes / num_read * confidence``, by which the
    rows are sorted (equal scores in the file's order). ``where`` is the
    label file's ``file:line`` (records of infer.py that carry
    ``annotation``), else the first frame's path. Readings are compared as
    ``read_right`` compared them (case-insensitively unless the records say
    otherwise or ``case_sensitive``); ``edits`` counts the label's edits
    into ``text``. Failed frames count in ``num_frames``, not in the vote.
    ``records`` carry ``read_right`` (:func:`fill_read_right`)."""
    case_sensitive = case_sensitive or judged_case_sensitively(records)
    norm = (lambda t: t) if case_sensitive else upper_each
    groups: Dict[str, List[dict]] = {}
    for r in records:
        if not is_labelled(r):
            continue
        key = r.get('track_id')
        groups.setdefault(f'track:{key}' if key is not None else f'image:{image_key(r)}',
                          []).append(r)
    rows = []
    for own in groups.values():
        read = [r for r in own if not is_failed(r) and r.get('text') is not None]
        if not read or any(_right(r) for r in own):
            continue
        tally: Dict[str, Tuple[int, float]] = {}
        for r in read:
            count, total = tally.get(norm(r['text']), (0, 0.0))
            tally[norm(r['text'])] = (count + 1, total + _confidence(r))
        vote = max(tally, key=lambda t: tally[t])  # first of equal ones: the file's order
        agreeing = [r for r in read if norm(r['text']) == vote]
        spelt = max(agreeing, key=_confidence)['text']
        confidence = tally[vote][1] / tally[vote][0]
        first = own[0]
        rows.append(dict(
            where=first.get('annotation') or image_key(first), track_id=first.get('track_id'),
            gt=first['gt_text'], text=spelt, votes=len(agreeing), num_read=len(read),
            num_frames=len(own), confidence=confidence,
            score=len(agreeing) / len(read) * confidence,
            edits=len(align(first['gt_text'], spelt, case_sensitive)),
            paths=[r.get('path') or r.get('input') for r in own]))
    return sorted(rows, key=lambda row: -row['score'])


# -- everything for one file --------------------------------------------------

def analyse(records: Sequence[dict], tracks: Optional[Sequence[dict]] = None,
            target_accuracy: float = 0.99, case_sensitive: bool = False) -> dict:
    """Every figure of one file of readings (and its track votes), as
    ``analyze_readings.py --json`` writes them. ``notes`` says what was
    left out or computed."""
    records, computed = fill_read_right(records, case_sensitive)
    out = dict(summary=summary(records), scales=accuracy_by_scale(records) if records else [],
               layouts=accuracy_by_layout(records), misreads=misreads(records),
               failures=failures(records),
               characters=character_errors(records, case_sensitive),
               risk_coverage=risk_coverage(records, target_accuracy=target_accuracy),
               calibration=calibration(records), auroc=auroc(records),
               label_suspects=label_suspects(records, case_sensitive), notes=[])
    s = out['summary']
    notes = out['notes']
    if computed:
        notes.append(f'{computed} labelled record(s) lack read_right (infer.py output older '
                     'than that key): computed here, '
                     + ('case-sensitively' if case_sensitive else
                        'case-insensitively (the plate metric\'s default)'))
    if s['unlabelled']:
        notes.append(f"{s['unlabelled']} unlabelled image(s) counted but left out of every "
                     'accuracy')
    if s['failed_labelled']:
        notes.append(f"{s['failed_labelled']} labelled image(s) failed to read: counted as not "
                     'read right (as confidence 0 in the reject rule), left out of the '
                     'calibration and AUROC')
    if tracks is not None:
        tracks, computed = fill_read_right(tracks, case_sensitive)
        out['tracks'] = track_analysis(records, tracks)
        if computed:
            notes.append(f'{computed} labelled track vote(s) lack read_right: computed here')
        if out['tracks']['without_records']:
            notes.append(f"{out['tracks']['without_records']} track(s) of the tracks file "
                         'have no record in the readings: is it the same run\'s?')
    return out
