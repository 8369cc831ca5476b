"""Each row's right and wrong per image, kept in ``report.json`` (``per_image``).

A report's accuracies are means over the same test images; a paired test
of two rows, or of one method in two reports of the same test set, needs
each image's outcome, which the report kept nowhere. ``per_image`` holds:

* ``images``: each test image's key, in the report's order (its path
  relative to its test set's data root, after the set's name in a
  concatenation of sets; ``track#frame`` or ``image i`` where it has no
  path): the same in every row;
* ``tracks``: the images' tracks, run-length coded: ``[track, n]`` for
  ``n`` consecutive images of one track (the bootstrap's groups);
* ``digest``: a SHA-256 of the ``key<TAB>label`` lines, sorted: two
  reports of the same labelled images have the same digest whatever
  their order;
* ``case_sensitive``: how a reading was judged right;
* ``right``: per method a string with one character per image, ``1``
  read right, ``0`` read wrong, ``-`` not read (Teacher on HR skips the
  tracks without HR frames);
* ``group_by`` and ``groups``, where the test evaluator reports groups
  (``group_by='set'``: each set of a concatenation, a camera; ``'folder'``):
  each image's group, run-length coded as ``tracks`` are, so that a
  comparison pairs each group on its own (``compare_reports.py``).

Its lists are written one to a line (:func:`report_json_text`): the
report's head stays readable. About 85 kB for 1500 images and 20 rows.
"""
import hashlib
import json
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

#: Bumped where the block's meaning changes.
VERSION = 1


class PairingError(ValueError):
    """Two readings that cannot be paired image by image (said why)."""


def image_key(metainfo: dict, index: int, roots: Sequence[str],
              several_sets: bool = False) -> str:
    """What names a test image across reports and machines: its frame's
    path relative to the data root it is under (the first of ``roots``,
    longest first), ``track#frame`` for an image without a path, else
    ``image <index>``. With ``several_sets`` (a concatenation of test
    sets), a relative path is put after its set's name (``set_name``:
    ``day/val/t0/lr-001.png``): two sets of one layout hold the same
    relative paths, which named two images alike."""
    path = metainfo.get('lr_path') or metainfo.get('hr_path') or metainfo.get('img_path')
    if isinstance(path, str) and path:
        path = osp.normpath(osp.abspath(path))
        for root in sorted((osp.normpath(osp.abspath(r)) for r in roots if r), key=len,
                           reverse=True):
            if path.startswith(root + osp.sep):
                key = osp.relpath(path, root).replace(osp.sep, '/')
                name = metainfo.get('set_name') if several_sets else None
                return f'{name}/{key}' if name else key
        return path.replace(osp.sep, '/')
    track, frame = metainfo.get('track_id'), metainfo.get('frame_idx')
    if track is not None:
        return f'{track}#{frame}'
    return f'image {index}'


def digest(keys: Sequence[str], labels: Sequence[str]) -> str:
    """SHA-256 of the sorted ``key<TAB>label`` lines (order-free)."""
    lines = sorted(f'{k}\t{t}' for k, t in zip(keys, labels))
    return 'sha256:' + hashlib.sha256('\n'.join(lines).encode('utf-8')).hexdigest()


def run_length(values: Sequence[str]) -> List[list]:
    out: List[list] = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


def expand_runs(runs: Sequence) -> List[str]:
    return [str(v) for v, n in runs for _ in range(int(n))]


def _occurrences(keys: Sequence[str]) -> List[Tuple[str, int]]:
    seen: Counter = Counter()
    out = []
    for k in keys:
        out.append((k, seen[k]))
        seen[k] += 1
    return out


def bits(correct: Sequence[bool], keys: Sequence[str], all_keys: Sequence[str]) -> Optional[str]:
    """``correct`` of the images ``keys`` as a string over ``all_keys``
    (``-`` for an image not read); None where ``keys`` holds an image not in
    ``all_keys`` or not one outcome per key."""
    if len(correct) != len(keys):
        return None
    if list(keys) == list(all_keys):
        return ''.join('1' if c else '0' for c in correct)
    where = {k: i for i, k in enumerate(_occurrences(all_keys))}
    out = ['-'] * len(all_keys)
    for k, c in zip(_occurrences(keys), correct):
        if k not in where:
            return None
        out[where[k]] = '1' if c else '0'
    return ''.join(out)


def per_image_block(keys: Sequence[str], labels: Sequence[str], tracks: Sequence[str],
                    rows: Dict[str, Optional[str]], case_sensitive: bool,
                    groups: Optional[Sequence[str]] = None,
                    group_by: Optional[str] = None) -> dict:
    """The ``per_image`` block of a report (see the module's doc);
    ``groups``: each image's group under the evaluator's ``group_by``."""
    block = dict(version=VERSION, num_images=len(keys), digest=digest(keys, labels),
                 case_sensitive=bool(case_sensitive), images=list(keys),
                 tracks=run_length([str(t) for t in tracks]))
    if groups is not None and len(groups) == len(keys):
        block.update(group_by=group_by, groups=run_length([str(g) for g in groups]))
    block['right'] = {m: b for m, b in rows.items() if b is not None}
    return block


def read_block(report: dict) -> Optional[dict]:
    """A report's ``per_image`` block, decoded (``tracks`` one per image),
    or None where it has none (an older report) or it does not add up
    (hand-edited)."""
    block = report.get('per_image') if isinstance(report, dict) else None
    if not isinstance(block, dict) or block.get('version') != VERSION:
        return None
    try:
        images = [str(k) for k in block['images']]
        tracks = expand_runs(block['tracks'])
        right = {str(m): str(b) for m, b in (block.get('right') or {}).items()}
        groups = expand_runs(block['groups']) if block.get('groups') is not None else None
    except (KeyError, TypeError, ValueError):
        return None
    if groups is not None and len(groups) != len(images):
        groups = None  # hand-edited: paired as a whole only
    if len(tracks) != len(images) or any(len(b) != len(images) or set(b) - set('01-')
                                         for b in right.values()):
        return None
    return dict(block, images=images, tracks=tracks, right=right, groups=groups)


def align(a: dict, b: dict, name_a: str = 'A', name_b: str = 'B') -> List[Tuple[int, int]]:
    """Index pairs ``(i in a, j in b)`` of the same image in two decoded
    blocks (:func:`read_block`), in ``a``'s order; a :class:`PairingError`
    saying why where they are not of the same labelled images."""
    if a.get('case_sensitive') != b.get('case_sensitive'):
        raise PairingError(f'{name_a} and {name_b} judge readings otherwise (case-sensitive '
                           f"{a.get('case_sensitive')} and {b.get('case_sensitive')})")
    ka, kb = _occurrences(a['images']), _occurrences(b['images'])
    if ka != kb:
        set_a, set_b = set(ka), set(kb)
        only_a = [k for k in ka if k not in set_b]
        only_b = [k for k in kb if k not in set_a]
        if only_a or only_b:
            said = [f'{len(keys)} only in {name} (first: {keys[0][0]})'
                    for keys, name in ((only_a, name_a), (only_b, name_b)) if keys]
            raise PairingError(f'{name_a} and {name_b} are of other test images: '
                               + '; '.join(said))
    if a.get('digest') != b.get('digest'):
        raise PairingError(f'{name_a} and {name_b} hold the same {len(ka)} images but label '
                           'them otherwise (their digests differ): another label file')
    where = {k: j for j, k in enumerate(kb)}
    return [(i, where[k]) for i, k in enumerate(ka)]


def paired_rows(right_a: str, right_b: str, tracks: Sequence[str],
                pairs: Optional[Sequence[Tuple[int, int]]] = None, resamples: int = 2000,
                seed: int = 0) -> dict:
    """``paired_difference`` (a minus b, fractions) of two rows' bit
    strings over the images both read (``pairs``: :func:`align`'s, else
    the same order), grouped by ``tracks`` (``a``'s). Adds ``a`` and ``b``,
    their accuracies over those images, ``only_a`` and ``only_b``, and
    ``not_read``: images left out where one row read none."""
    from .paired_bootstrap import paired_difference
    pairs = pairs if pairs is not None else [(i, i) for i in range(len(right_a))]
    kept = [(i, j) for i, j in pairs if right_a[i] != '-' and right_b[j] != '-']
    if not kept:
        raise PairingError('no image read by both rows')
    a = [right_a[i] == '1' for i, _ in kept]
    b = [right_b[j] == '1' for _, j in kept]
    found = paired_difference(a, b, [tracks[i] for i, _ in kept], resamples=resamples,
                              seed=seed)
    return dict(found, a=sum(a) / len(a), b=sum(b) / len(b),
                only_a=sum(x and not y for x, y in zip(a, b)),
                only_b=sum(y and not x for x, y in zip(a, b)),
                not_read=len(pairs) - len(kept))


#: Keys of ``per_image`` written on one line each by :func:`report_json_text`.
ONE_LINE = ('images', 'tracks', 'groups')


def report_json_text(report: dict) -> str:
    """``report`` as ``json.dumps(indent=2)`` writes it, but for
    ``per_image``'s lists, one line each (1500 image keys were 1500 lines)."""
    block = report.get('per_image')
    if not isinstance(block, dict):
        return json.dumps(report, indent=2, ensure_ascii=False) + '\n'
    marks = {}
    compact = dict(block)
    for key in ONE_LINE:
        if key in compact:
            mark = f'@@per_image.{key}@@'
            marks[json.dumps(mark)] = json.dumps(compact[key], ensure_ascii=False)
            compact[key] = mark
    text = json.dumps(dict(report, per_image=compact), indent=2, ensure_ascii=False)
    for mark, value in marks.items():  # the block's own: the last of the text
        head, _, tail = text.rpartition(mark)
        text = head + value + tail
    return text + '\n'
