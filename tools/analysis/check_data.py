"""Check a config's plate sets on disk before a long run: every problem at once.

    python tools/analysis/check_data.py CONFIG [--splits train val test] [--decode]
        [--duplicates] [--json FILE] [--shown N] [--cfg-options ...]

Each set of the config's ``train``, ``val`` and ``test`` dataloaders (each
set of a concatenation or wrapper) is read as the config reads it, its bad
lines skipped instead of stopping at the first (``strict=False``); then
every image its pipeline reads (a teacher's: the HR frames only) is looked
for, and with ``--decode`` decoded as training decodes it. Printed: each
refused line with its ``file:line`` and why, each missing, empty or (with
``--decode``) undecodable image with the line that lists it, and a table of
tracks, images and problems per set. With ``--duplicates``, every image file
the sets list is hashed, and the pairs of tracks sharing one's bytes are
named: across splits (a leak), one track under two ids, an HR frame under
two labels. A track whose frames lie in two folders, or whose HR frames
lie in a folder of another name than its LR frames', where (nearly) all the
set's tracks keep theirs together, is warned of (a frame of another track?).
``--json`` writes every finding. The exit status is 1 where
there is any problem, 0 where there is none.

Why: a run stops at a set's first bad line (``strict``), one fix a run; a
frame that does not decode is found when it is read, in training or at the
first validation after an epoch. A set rendered when read (the
``*_online`` configs) has no files to check. Labels longer than the model's
attention decoders emit (``max_seq_len - 1``) are listed as train.py lists
them (``LabelLengthCheckHook``, the model built from the config without its
teacher's checkpoint): a training one is a problem (train.py refuses it), a
validation or test one a warning (always a misread). A CTC decoder's frames
are checked when training starts.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None) -> argparse.Namespace:
    from dld.cli_options import ConfigOptionsAction
    parser = argparse.ArgumentParser(
        description="Check a config's plate sets on disk: refused lines, missing, empty and "
        '(--decode) undecodable images, all at once; a line whose frames lie apart where the '
        "set's other tracks keep theirs together is warned of (a frame of another track?).")
    parser.add_argument('config', help='a DLD or recognizer config')
    parser.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS),
                        help='the dataloaders to check (default: all three)')
    parser.add_argument('--decode', action='store_true',
                        help='decode every image as training does (slower: a few ms each)')
    parser.add_argument('--duplicates', action='store_true',
                        help='hash every image file the sets list (LR and HR) and name the '
                        'tracks that share a file\'s bytes: across splits (a leak), a '
                        'track under two ids, HR frames under two labels (slower: each '
                        'file read once)')
    parser.add_argument('--json', metavar='FILE',
                        help='also write every finding as JSON (per set, frames apart too, '
                        'and the duplicates)')
    parser.add_argument('--shown', type=int, default=10, metavar='N',
                        help='problems listed per kind and set (default 10; the count is '
                        'always whole)')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, as the other tools take them')
    args = parser.parse_args(argv)
    if args.shown < 1:
        parser.error(f'--shown must be >= 1, got {args.shown}')
    return args


def leaf_sets(dataset: dict, where: str) -> Iterator[Tuple[str, dict]]:
    """``(where in the config, set config)`` of each set below ``dataset``:
    a concatenation's sets, a wrapper's set, in order."""
    if 'datasets' in dataset:
        for i, inner in enumerate(dataset['datasets']):
            yield from leaf_sets(dict(inner), f'{where}.datasets.{i}')
    elif 'dataset' in dataset:
        yield from leaf_sets(dict(dataset['dataset']), f'{where}.dataset')
    else:
        yield where, dataset


class SetReport:
    """What was found in one set."""

    def __init__(self, split: str, where: str, kind: str, source: str) -> None:
        self.split, self.where, self.kind, self.source = split, where, kind, source
        self.tracks = self.items = self.files = 0
        self.refused: List[Tuple[str, str]] = []  # ('file:line', why)
        self.missing: List[Tuple[str, str]] = []  # (path, said)
        self.undecodable: List[Tuple[str, str]] = []  # ('path (file:line)', why)
        # ('file:line', what): frames apart where the set's other tracks keep theirs
        # together (a frame of another track?), warned of, not problems
        self.scattered: List[Tuple[str, str]] = []
        self.too_long: Optional[List[Tuple[str, str]]] = None  # ('file:line', label); None:
        # not checked (no attention decoder, or the model could not be built)
        self.failed: Optional[str] = None  # the set could not be read at all
        self.note: Optional[str] = None  # nothing to check, and why
        self.dataset = None  # the set built, for --duplicates

    def as_json(self) -> dict:
        return dict(split=self.split, where=self.where, kind=self.kind, source=self.source,
                    tracks=self.tracks, items=self.items, files=self.files,
                    refused=[dict(where=w, why=why) for w, why in self.refused],
                    missing=[dict(path=p, said=said) for p, said in self.missing],
                    undecodable=[dict(where=w, why=why) for w, why in self.undecodable],
                    scattered=[dict(where=w, said=said) for w, said in self.scattered],
                    too_long=None if self.too_long is None else
                    [dict(where=w, said=said) for w, said in self.too_long],
                    failed=self.failed, note=self.note, problems=self.problems)

    @property
    def problems(self) -> int:
        # a training label the decoder cannot emit stops train.py; a validation
        # or test one is an honest misread, warned of
        refused_labels = len(self.too_long or ()) if self.split == 'train' else 0
        return (len(self.refused) + len(self.missing) + len(self.undecodable) + refused_labels
                + bool(self.failed))


def label_limit(cfg) -> Tuple[Optional[int], Optional[str]]:
    """``(limit, why not)``: the longest label the config's attention
    decoders emit whole, as train.py holds the labels to it
    (:func:`max_label_length` of the model built from ``cfg.model``, a
    distiller's teacher and student only, its teacher's checkpoint not
    read: the lengths are the config's); ``None`` without an attention
    decoder (CTC), or with why where the model cannot be built."""
    import copy

    from dld.engine.hooks.label_length_check_hook import max_label_length
    model_cfg = copy.deepcopy(cfg.get('model'))
    if not isinstance(model_cfg, dict):
        return None, 'the config has no model'
    if model_cfg.get('teacher_ckpt') is not None:
        model_cfg['teacher_ckpt'] = None
    try:
        model = _decoding_parts(model_cfg)
    except Exception as err:  # noqa: BLE001 - train.py says why; the sets are still checked
        return None, f'the model cannot be built ({type(err).__name__}: ' \
            f'{str(err).splitlines()[0] if str(err) else ""})'
    return max_label_length(model), None


def _decoding_parts(model_cfg: dict):
    """The model of ``model_cfg`` as far as its decoders go: a distiller's
    teacher and student recognizers alone, built as the distiller builds
    them (under the names it gives them), not the distiller, whose build
    traces every scale's FLOPs (a second, and 50-70 MB, for no decoder);
    any other model whole."""
    import torch.nn as nn

    from dld.registry import MODELS
    parts = {k: model_cfg.get(k) for k in ('teacher', 'student')}
    if not all(isinstance(v, dict) and v.get('type') for v in parts.values()):
        return MODELS.build(model_cfg)
    holder = nn.Module()
    for name, part in parts.items():
        setattr(holder, name, MODELS.build(part))
    return holder


def check_label_lengths(report: SetReport, limit: int) -> None:
    """``report.too_long``: the labels of its set over ``limit``, found as
    train.py finds them (:class:`LabelLengthCheckHook`)."""
    from types import SimpleNamespace

    from dld.engine.hooks.label_length_check_hook import LabelLengthCheckHook
    if report.dataset is not None:
        report.too_long = LabelLengthCheckHook().find(SimpleNamespace(dataset=report.dataset),
                                                      limit)


def check_set(split: str, where: str, cfg: dict, decode: bool) -> SetReport:
    """Read the set ``cfg`` (a leaf of ``split``'s dataloader at ``where``)
    and find its problems."""

    from dld.datasets import BasePlateDataset
    from dld.datasets.transforms.loading import read_plate_image
    from dld.registry import DATASETS
    given = cfg.get('type', '')
    kind = given.__name__ if isinstance(given, type) else str(given)
    source = str(cfg.get('ann_file') or cfg.get('data_root') or '')
    if cfg.get('ann_file') and cfg.get('data_root'):
        source = osp.join(str(cfg['data_root']), str(cfg['ann_file']))
    report = SetReport(split, where, kind, source)
    cls = given if isinstance(given, type) else DATASETS.get(kind)  # a class is a type too
    if not (isinstance(cls, type) and issubclass(cls, BasePlateDataset)):
        report.note = f'{kind}: rendered when read, or a set of its own kind: no files to check'
        # the plates it renders (an online set's), not "0 items" in the table
        report.items = cfg.get('num_plates', '-')
        return report
    try:
        with _skipped_lines_unsaid():
            dataset, tracks = _built_keeping_tracks(cfg)
    except Exception as err:  # noqa: BLE001 - a set that cannot be read at all is one problem
        report.failed = f'{type(err).__name__}: {err}'
        return report
    report.items = len(dataset)
    report.dataset = dataset
    # as listed: the dataset's own info draws a 'random' frame
    report.tracks = len({dataset.listed_info(i)['track_id'] for i in range(len(dataset))})
    report.refused = [(e.where, e.reason) for e in dataset.bad_annotations]
    report.missing, report.files = dataset.missing_files()
    report.scattered = scattered_frames(dataset, tracks)
    if decode:
        report.undecodable = _undecodable(dataset, {p for p, _ in report.missing},
                                          read_plate_image)
    return report


def _built_keeping_tracks(cfg: dict):
    """The set of ``cfg`` built to be checked (bad lines skipped, its list
    unserialised), and the records its ``iter_tracks`` gave while it was
    built, for :func:`scattered_frames`: reading the set's tracks again
    walked a track-folder release again and read each ``annotations.json``
    again (a third of the check at 100,000 tracks). Counted on a terminal
    (some 10 s without a word at 100,000 tracks), as ``--decode`` counts."""
    from tqdm import tqdm

    from dld.registry import DATASETS
    dataset = DATASETS.build(dict(cfg, strict=False, check_files=False, lazy_init=True,
                                  serialize_data=False))
    tracks: list = []
    read = dataset.iter_tracks

    def iter_tracks():
        for rec in tqdm(read(), desc='reading tracks', unit='track', leave=False,
                        disable=not sys.stderr.isatty()):
            tracks.append(rec)
            yield rec
    dataset.iter_tracks = iter_tracks  # this instance's, while it is built
    try:
        dataset.full_init()
    finally:
        del dataset.iter_tracks
    return dataset, tracks


#: A set's tracks may keep their frames apart where at most this share of
#: them does so: above it, that is the set's layout, not a mistake.
SCATTERED_SHARE = 0.1


def scattered_frames(dataset, tracks=None) -> List[Tuple[str, str]]:
    """``('file:line', what)`` of the tracks whose frames lie apart where
    (nearly) all the set's tracks keep theirs together: LR (or HR) frames
    in two folders or more, or HR frames in a folder of another name than
    the LR frames' (``track_7/`` against ``track_9/``; ``lr/track_7/`` and
    ``hr/track_7/`` agree). Each is a frame list holding another track's
    frames, which no check by path or label finds where that track is not
    listed too, and an LR model reading the line cannot see (its HR frames
    of another plate). Each check is made only where at most
    :data:`SCATTERED_SHARE` of the tracks it applies to are apart.
    ``tracks``: the set's ``iter_tracks()`` records, read already
    (:func:`_built_keeping_tracks`); read again where not given."""
    from collections import Counter

    from dld.datasets.errors import PlateAnnotationError
    root = osp.abspath(getattr(dataset, 'data_root', None) or '.')

    def rel(folder):
        out = osp.relpath(folder, root)
        return folder if out.startswith(osp.pardir) else out.replace(osp.sep, '/')

    # each stream on its own: a tenth of the LR frame lists is a tenth of the tracks
    spread = dict(LR=[], HR=[])
    spread_of = dict(LR=0, HR=0)
    apart, apart_of = [], 0
    for rec in dataset.iter_tracks() if tracks is None else tracks:
        if isinstance(rec, PlateAnnotationError):
            continue
        lr = [p for p in rec.lr_paths if p]
        hr = list(rec.hr_paths or [])
        for stream, frames in (('LR', lr), ('HR', hr)):
            if len(frames) < 2:
                continue
            spread_of[stream] += 1
            folders = Counter(osp.dirname(p) for p in frames)
            if len(folders) > 1:
                said = ', '.join(f'{rel(f)}: {n}' for f, n in folders.most_common())
                spread[stream].append((rec.where, f'its {stream} frames lie in {len(folders)} '
                                       f'folders ({said}): a frame of another track?'))
        if lr and hr:
            apart_of += 1
            lr_dir, hr_dir = osp.dirname(lr[0]), osp.dirname(hr[0])
            if osp.basename(lr_dir) != osp.basename(hr_dir):
                apart.append((rec.where, f'its LR frames lie in {rel(lr_dir)}, its HR frames in '
                              f'{rel(hr_dir)}: the frames of another track?'))
    found: Dict[str, List[str]] = {}  # one row a track, in the file's order
    for rows, of in ((spread['LR'], spread_of['LR']), (spread['HR'], spread_of['HR']),
                     (apart, apart_of)):
        if rows and len(rows) <= SCATTERED_SHARE * of:
            for where, what in rows:
                found.setdefault(where, []).append(what)
    from dld.engine.hooks.label_check_hook import line_order
    return [(where, '; '.join(said)) for where, said in sorted(found.items(),
                                                               key=lambda f: line_order(f[0]))]


class _SkippedLinesFilter:
    """Holds back the set's own warning listing the lines strict=False
    skipped: this tool lists them below its summary line, so they were said
    twice. ``held``: the records held back, said after all where the set
    cannot be built (every line refused: its error points to the warning)."""

    def __init__(self) -> None:
        self.held: list = []

    def filter(self, record) -> bool:
        if ' bad annotation(s) of ' in str(record.msg).split('\n', 1)[0]:
            if record not in self.held:  # one record, seen by each handler
                self.held.append(record)
            return False
        return True


@contextmanager
def _skipped_lines_unsaid() -> Iterator[None]:
    """The dataset's "skipped N bad annotation(s)" warning left out while
    it is built (its other warnings, a label upper-cased, a frame listed
    twice, are said: this tool does not list them); said after all where
    the build fails, as the set's error says the lines are listed above."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    handlers = list(logger.handlers)
    held = _SkippedLinesFilter()
    for handler in handlers:  # before MMEngine's filter of repeated warnings, which
        handler.filters.insert(0, held)  # would drop the record said after all
    try:
        yield
    except BaseException:
        for handler in handlers:
            handler.removeFilter(held)
        for record in held.held:
            logger.handle(record)
        raise
    finally:
        for handler in handlers:
            handler.removeFilter(held)


def _undecodable(dataset, missing: set, read) -> List[Tuple[str, str]]:
    """``('path (where)', why)`` of each image that does not decode, each
    file once (an HR frame listed for several LR frames is decoded once)."""
    from tqdm import tqdm

    from dld.datasets import ImageLoadError
    from dld.datasets.transforms.loading import DEFAULT_MAX_PIXELS
    loader = dataset._image_loader()
    color = getattr(loader, 'color_type', 'color')
    backend = getattr(loader, 'backend_args', None)
    max_pixels = getattr(loader, 'max_pixels', DEFAULT_MAX_PIXELS)  # as training reads them
    files: Dict[str, str] = {}
    for path, where in dataset.files_read():
        if path not in missing:
            files.setdefault(path, where)
    bad = []
    for path, where in tqdm(files.items(), desc='decoding', unit='image', leave=False,
                            disable=not sys.stderr.isatty()):
        try:
            read(path, color, backend, max_pixels)
        except ImageLoadError as err:
            bad.append((f'{path} ({where})', err.reason))
    return bad


def _set_tracks(report: SetReport) -> List[dict]:
    """The tracks the set kept (its refused lines left out, listed already):
    ``where``, ``label`` (as the set normalised it), ``lr`` and ``hr``, their
    frames' paths whatever the pipeline reads (a test set's HR frames too)."""
    from dld.datasets.errors import PlateAnnotationError
    dataset = report.dataset
    labels: Dict[str, str] = {}
    for i in range(len(dataset)):  # as listed: no 'random' frame drawn
        info = dataset.listed_info(i)
        labels.setdefault(info.get('annotation') or info['track_id'], info['gt_text'])
    tracks = []
    for rec in dataset.iter_tracks():
        if isinstance(rec, PlateAnnotationError) or rec.where not in labels:
            continue
        tracks.append(dict(where=rec.where, label=labels[rec.where],
                           lr=[p for p in rec.lr_paths if p], hr=list(rec.hr_paths or [])))
    return tracks


def _digest(path: str) -> Optional[str]:
    """SHA-1 of the file's bytes; None for a file that cannot be read or
    is empty (no image: listed as missing or empty where the pipeline reads
    it; every empty file has one digest, so two tracks of empty frames would
    be said to share an image)."""
    import hashlib
    try:
        if os.path.getsize(path) == 0:
            return None
        digest = hashlib.sha1()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:  # missing: listed as such
        return None


def find_duplicates(reports: List[SetReport]) -> List[dict]:
    """Pairs of tracks that share an image file's bytes (a copy under
    another name counts as the file itself), one finding a pair, in the
    order of the sets and lines: ``kind`` ``'across splits'`` (the same
    image trained on and evaluated: any frame, LR or HR, any labels),
    ``'same track twice'`` (two tracks of one split sharing an LR frame:
    one track under two ids, or a line pasted twice where the set does not
    say so, a copy of its frames) or ``'HR frame under two labels'`` (two
    tracks of one split sharing an HR frame with different labels: the HR
    frames of another plate; several degradations of one HR image under
    one label are tracks of their own). A line that lists the very same
    frames as another under the same label in a training set, which the
    set warns of, is not repeated here, nor the very same track read by two
    evaluation loaders (a config's ``test_dataloader = val_dataloader``: its
    tracks are compared once, their split ``'val/test'``).
    Empty files are no image: they are left out."""
    from tqdm import tqdm
    owners: Dict[str, List[tuple]] = {}  # digest -> [(track index, stream, path)]
    tracks: List[dict] = []
    digests: Dict[str, Optional[str]] = {}
    evaluated: Dict[str, dict] = {}  # where -> an evaluation loader's track
    for report in reports:
        if report.dataset is None:
            continue
        for track in _set_tracks(report):
            again = evaluated.get(track['where']) if report.split != 'train' else None
            if again is not None and again['lr'] == track['lr'] and again['hr'] == track['hr']:
                # one set read by val and test (test_dataloader = val_dataloader):
                # its tracks are compared once, their split 'val/test'
                if report.split not in again['splits']:
                    again['splits'].add(report.split)
                    again['split'] += f'/{report.split}'
                continue
            tracks.append(dict(track, split=report.split, splits={report.split}))
            if report.split != 'train':
                evaluated.setdefault(track['where'], tracks[-1])
    folders: Dict[str, str] = {}  # a track folder -> the one it resolves to
    for index, track in enumerate(tqdm(tracks, desc='hashing', unit='track', leave=False,
                                       disable=not sys.stderr.isatty())):
        for stream in ('lr', 'hr'):
            for path in dict.fromkeys(track[stream]):
                real = _real_path(path, folders)
                if real not in digests:
                    digests[real] = _digest(real)
                if digests[real] is not None:
                    owners.setdefault(digests[real], []).append((index, stream, path))
    pairs: Dict[Tuple[int, int], dict] = {}
    for shared in owners.values():
        for (a, sa, pa), (b, sb, pb) in _sharing_pairs(shared, tracks):
                key = (min(a, b), max(a, b))
                found = pairs.setdefault(key, dict(streams=set(), same_path=True, files=0,
                                                   example=(pa, pb) if a < b else (pb, pa)))
                found['streams'].update((sa, sb))
                # as the set compares a training line's frames: by the path
                # given (a copy through a linked folder is a copy, which the
                # set does not warn of)
                found['same_path'] &= osp.normpath(pa) == osp.normpath(pb)
                found['files'] += 1
    out = []
    for (a, b), found in sorted(pairs.items()):
        ta, tb = tracks[a], tracks[b]
        same_label = ta['label'] == tb['label']
        if ta['splits'].isdisjoint(tb['splits']):
            kind = 'across splits'
        elif 'lr' in found['streams']:
            if found['same_path'] and same_label:
                continue  # a repeated training line: the set warns of it
            kind = 'same track twice'
        elif not same_label:
            kind = 'HR frame under two labels'
        else:
            continue  # one HR image, several degradations, one label
        out.append(dict(kind=kind, first=ta['where'], first_split=ta['split'],
                        first_label=ta['label'], second=tb['where'], second_split=tb['split'],
                        second_label=tb['label'], files=found['files'],
                        same_path=found['same_path'], example=list(found['example'])))
    return out


def _real_path(path: str, folders: Dict[str, str]) -> str:
    """``osp.realpath(path)``, its folder's resolution cached in ``folders``
    (a realpath per frame, a stat per folder of the path, was half of
    comparing the tracks; a track's frames share one folder)."""
    if osp.islink(path):  # a linked file: itself resolved
        return osp.realpath(path)
    folder, name = osp.split(path)
    if folder not in folders:
        folders[folder] = osp.realpath(folder)
    return osp.join(folders[folder], name)


#: Tracks sharing one file above which each is paired with one track of
#: each (split, label) only: a placeholder image in 3000 tracks made 4.5
#: million pairs (38 s, 4.4 GiB); the pairs' kinds depend on split and
#: label alone, so every kind and every track is still named.
ALL_PAIRS_UP_TO = 8


def _sharing_pairs(shared: List[tuple], tracks: List[dict]) -> List[tuple]:
    """The pairs of ``shared`` entries ``(track index, stream, path)`` of
    two tracks: all of them, or past :data:`ALL_PAIRS_UP_TO` tracks each
    one with the first of every (split, label)."""
    if len({a for a, _, _ in shared}) <= ALL_PAIRS_UP_TO:
        return [(x, y) for i, x in enumerate(shared) for y in shared[i + 1:] if x[0] != y[0]]
    firsts = {}
    for entry in shared:
        track = tracks[entry[0]]
        firsts.setdefault((track['split'], track['label']), entry)
    return [(first, entry) for first in firsts.values() for entry in shared
            if entry[0] != first[0] and (entry not in firsts.values() or first[0] < entry[0])]


def print_duplicates(found: List[dict], shown: int) -> None:
    from dld.utils.listing import lines_and_more
    if not found:
        print('No image file shared by two tracks (byte-identical files, by content).')
        return
    for kind in ('across splits', 'same track twice', 'HR frame under two labels'):
        rows = [f for f in found if f['kind'] == kind]
        if not rows:
            continue
        said = [f"{f['first']} ({f['first_split']}, {f['first_label']}) and {f['second']} "
                f"({f['second_split']}, {f['second_label']}): {f['files']} file(s), e.g. "
                + (f"{f['example'][0]}" if f['same_path'] else
                   f"{f['example'][0]} = {f['example'][1]}") for f in rows]
        print(f'{len(rows)} pair(s) of tracks {_KIND_SAID[kind]}:\n'
              f'{lines_and_more(said, shown)}')


_KIND_SAID = {
    'across splits': 'in two splits share an image (a leak: the same image trained on and '
                     'evaluated)',
    'same track twice': 'of one split share an LR frame (one track under two ids, or a copy)',
    'HR frame under two labels': 'of one split share an HR frame under different labels (the '
                                 'HR frames of another plate?)',
}


def print_report(report: SetReport, shown: int, limit: Optional[int] = None) -> None:
    from dld.datasets.base_plate_dataset import missing_listing
    from dld.engine.hooks.label_check_hook import listing
    head = f'{report.split} ({report.where}, {report.kind} {report.source})'
    if report.note:
        print(f'{head}: {report.note}')
        return
    if report.failed:
        print(f'{head}: cannot be read: {report.failed}')
        return
    print(f'{head}: {report.tracks} track(s), {report.items} item(s), {report.files} image '
          'file(s) read')
    if report.refused:
        print(f'{len(report.refused)} line(s) refused (a run with strict=True stops at the '
              f'first):\n{listing(report.refused, shown)}')
    if report.missing:
        print(f'{len(report.missing)} image(s) missing, not files or empty:\n'
              f'{missing_listing(report.missing, shown)}')
    if report.undecodable:
        print(f'{len(report.undecodable)} image(s) that do not decode:\n'
              f'{listing(report.undecodable, shown)}')
    if report.scattered:
        print(f'{len(report.scattered)} track(s) whose frames lie apart where the others keep '
              "theirs together (a warning: look at the line's frames):\n"
              f'{listing(report.scattered, shown)}')
    if report.too_long:  # in train.py's words
        from dld.engine.hooks.label_length_check_hook import LabelLengthCheckHook
        hook, listed = LabelLengthCheckHook(), listing(report.too_long, shown)
        print(hook.training_error(len(report.too_long), listed, limit)
              if report.split == 'train' else
              hook.validation_warning(len(report.too_long), listed, limit,
                                      'validation' if report.split == 'val' else report.split))


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.registry import init_default_scope
    from tabulate import tabulate

    from dld.engine.launch import config_errors_exit
    from dld.utils.config_file import merge_config_options, read_config
    with config_errors_exit('check_data.py'):
        cfg = read_config(args.config)
        if args.cfg_options:
            merge_config_options(cfg, args.cfg_options, args.config)
    init_default_scope(cfg.get('default_scope', 'dld'))
    limit, unchecked = label_limit(cfg)
    if unchecked:
        print(f'Label lengths not checked: {unchecked}.')
    reports = []
    for split in args.splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or not loader.get('dataset'):
            print(f'{split}: the config has no {split}_dataloader')
            continue
        for where, leaf in leaf_sets(dict(loader['dataset']), f'{split}_dataloader.dataset'):
            report = check_set(split, where, leaf, args.decode)
            if limit is not None:
                check_label_lengths(report, limit)
            print_report(report, args.shown, limit)
            reports.append(report)
    if not reports:
        return 2
    duplicates = None
    if args.duplicates:
        print()
        duplicates = find_duplicates(reports)
        print_duplicates(duplicates, args.shown)
    decoded = args.decode
    print('\n' + tabulate(
        [[r.split, r.kind, r.source, '-' if r.note else r.tracks, r.items, len(r.refused),
          len(r.missing),
          len(r.undecodable) if decoded else '-',
          '-' if r.too_long is None else len(r.too_long),
          'cannot be read' if r.failed else (r.note and 'not checked') or
          ('problems' if r.problems else 'long labels' if r.too_long else
           'frames apart' if r.scattered else 'ok')]
         for r in reports],
        headers=['split', 'set', 'source', 'tracks', 'items', 'lines refused',
                 'missing/empty', 'undecodable', 'too long', 'status'], tablefmt='github'))
    problems = sum(r.problems for r in reports) + len(duplicates or [])
    if args.json:
        from dld.utils.atomic_file import write_text_atomic
        write_text_atomic(args.json, json.dumps(dict(
            sets=[r.as_json() for r in reports], duplicates=duplicates, decoded=decoded,
            problems=problems), indent=2, ensure_ascii=False) + '\n')
    if not decoded:
        print('Images were looked for, not decoded: --decode decodes each as training does.')
    if duplicates is None:
        print('Tracks were not compared by content: --duplicates finds the images two '
              'tracks share (across splits, one track under two ids).')
    warned = sum(len(r.scattered) for r in reports)
    said = f' ({warned} track(s) warned of above: look at their frames)' if warned else ''
    print(f'{problems} problem(s) found{said}.' if problems else f'No problem found{said}.')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
