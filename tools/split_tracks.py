"""Split the track folders of an ICPR-layout release into train and val track lists.

    python tools/split_tracks.py data/lrlpr/train --val 0.1 [--seed 0]
        [--out-dir DIR] [--force] [--dict-file chars.txt [--case-sensitive]]

The release has no validation split. This writes ``train.txt`` and
``val.txt`` (default: in ``DATA_ROOT/splits/``), each listing track folders
relative to ``DATA_ROOT``, one a line: the ``ann_file`` of an
``LRLPRTrackDataset`` with that ``data_root`` (docs/datasets.md, "Training
on the ICPR release"). Each group of tracks (the folder above them, e.g.
``Scenario-A/Brazilian``: a scenario and a layout) is split in the same
proportion, so validation sees every scenario and layout; the choice is the
same for a given seed. Existing lists are kept unless ``--force``.

Tracks a training set would refuse are named (listed all the same); labels
are checked against the plate dictionary (0-9, A-Z), or the one of
``--dict-file`` (``--case-sensitive`` as the training set's): a Chinese
plate's tracks were all named as refused otherwise.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import os
import os.path as osp
import re
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import numpy as np


def split_tracks(tracks: List[str], val: float, seed: int) -> Tuple[List[str], List[str]]:
    """``(train, val)``: of each group of ``tracks`` (by parent folder),
    ``round(val * n)`` tracks (at least 1 of a group of 2 or more when
    ``val > 0``) go to val, drawn with ``seed``; both sorted."""
    from dld.evaluation.metrics.metric_groups import track_group

    # The groups PlateRecogMetric(group_by='folder') reports accuracy for.
    groups: Dict[str, List[str]] = defaultdict(list)
    for track in sorted(tracks):
        groups[track_group(track)].append(track)
    rng = np.random.default_rng(seed)
    train, held = [], []
    for name in sorted(groups):
        members = groups[name]
        num_val = int(round(val * len(members)))
        if val > 0 and len(members) >= 2:
            num_val = min(max(num_val, 1), len(members) - 1)
        picked = set(rng.choice(len(members), size=num_val, replace=False).tolist())
        for i, track in enumerate(members):
            (held if i in picked else train).append(track)
    return sorted(train), sorted(held)


def plates_on_both_sides(train: List[str], val: List[str], plates: Dict[str, str]
                         ) -> Dict[str, List[str]]:
    """``{plate: its tracks}`` of the plates (labels, ``plates``: track ->
    label, upper case) with tracks in both lists, in label order: the same
    plate trained on and held out (a car seen twice, a track copied under
    another folder)."""
    sides: Dict[str, set] = defaultdict(set)
    owned: Dict[str, List[str]] = defaultdict(list)
    for side, listed in (('train', train), ('val', val)):
        for track in listed:
            plate = plates.get(track)
            if plate:
                sides[plate].add(side)
                owned[plate].append(track)
    return {p: sorted(owned[p]) for p in sorted(sides) if len(sides[p]) == 2}


def _label(folder: str, read: Optional[dict] = None) -> Optional[str]:
    """``read_plate_text`` of the folder's ``annotations.json``, taken from
    ``read`` where the set read it already (:func:`_warn_refused_tracks`:
    by the file's normalised path, its text or the error it raised)."""
    from dld.datasets.lrlpr_track_dataset import read_plate_text
    path = osp.join(folder, 'annotations.json')
    known = (read or {}).get(osp.normpath(path), read_plate_text)
    if known is read_plate_text:  # not read yet
        return read_plate_text(path)
    if isinstance(known, Exception):
        raise known
    return known


def _track_plates(data_root: str, tracks: List[str],
                  read: Optional[dict] = None) -> Dict[str, str]:
    """``{track: its label, upper case}`` of the tracks with a readable one
    (``read``: the labels read already, :func:`_label`)."""
    from dld.datasets.errors import PlateAnnotationError
    from dld.utils.char_names import upper_each
    out = {}
    for track in tracks:
        try:
            text = (_label(osp.join(data_root, track), read) or '').strip()
        except PlateAnnotationError:
            continue  # named by the refused tracks' warning
        if text:
            out[track] = upper_each(text)
    return out


def _warn_refused_tracks(data_root: str, folders: List[str], dictionary: dict,
                         shown: int = 5) -> dict:
    """Name the listed tracks (``folders``, as the walk found them) a
    training set of ``dictionary`` would refuse (no label, HR frames that do
    not pair with the LR ones, ...): listed all the same (a set with
    ``strict=False`` skips them, one with ``load_hr=False`` takes LR-only
    ones), but said now rather than one at a time when training starts.
    The set reads these folders, not the tree again (a second walk of
    100,000 tracks); returns the labels it read (:func:`_track_plates`)."""
    from dld.datasets import LRLPRTrackDataset
    read: dict = {}  # annotations.json (normalised) -> its text, or the error it raised

    class ListedTracks(LRLPRTrackDataset):
        """The set of the folders found, keeping each label it reads."""

        def _track_dirs(self):
            yield from folders

        def _read_text(self, ann_path: str) -> Optional[str]:
            from dld.datasets.errors import PlateAnnotationError
            try:
                text = super()._read_text(ann_path)
            except PlateAnnotationError as err:
                read[osp.normpath(ann_path)] = err
                raise
            read[osp.normpath(ann_path)] = text
            return text

    dataset = ListedTracks(data_root=data_root, ann_file='', pipeline=[], lazy_init=True,
                           dictionary=dictionary)
    listed = {osp.normpath(t) for t in folders}

    def folder(err) -> str:  # said of the folder, or of its annotations.json (at a line)
        where = osp.normpath(re.sub(r':\d+$', '', str(err.where)))
        return osp.dirname(where) if osp.basename(where) == 'annotations.json' else where

    problems = [e for e in dataset.annotation_problems() if folder(e) in listed]
    if not problems:
        return read
    from dld.utils.listing import lines_and_more
    lines = lines_and_more([str(e) for e in problems], shown)
    unlabelled = sum(not _has_label(folder(e), read) for e in problems)
    blind = (f' ({unlabelled} without a label: a release\'s blind test/ tracks? split its '
             'train/ folder)' if unlabelled else '')
    if not dictionary.get('dict_file') and any('outside the dictionary' in str(e)
                                               for e in problems):
        blind += ('; labels are checked against the plate dictionary (0-9, A-Z): '
                  '--dict-file gives the training set\'s')
    print(f'split_tracks.py: warning: {len(problems)} listed track(s) would be refused by a '
          f'training set{blind}; fix them, or train with strict=False, which skips them:'
          f'\n{lines}', file=sys.stderr)
    return read


def _has_label(folder: str, read: Optional[dict] = None) -> bool:
    from dld.datasets.errors import PlateAnnotationError
    try:
        return bool((_label(folder, read) or '').strip())
    except PlateAnnotationError:
        return True  # a broken file: its own message says so


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='the folder holding the track folders (any depth)')
    parser.add_argument('--val', type=float, default=0.1,
                        help='share of the tracks of each group held out (default 0.1)')
    parser.add_argument('--seed', type=int, default=0,
                        help='which tracks are held out: the same seed, the same lists (default 0)')
    parser.add_argument('--out-dir', help='where the lists go (default DATA_ROOT/splits)')
    parser.add_argument('--force', action='store_true', help='replace existing lists')
    parser.add_argument('--by-plate', action='store_true',
                        help='keep the tracks of one plate (one label) together: a held-out '
                        'track whose label a training track has goes to train too')
    parser.add_argument('--dict-file', help="the training set's dictionary, one character a "
                        'line, to check labels against (default the plate one: 0-9, A-Z)')
    parser.add_argument('--case-sensitive', action='store_true',
                        help="with --dict-file: the training set's dictionary keeps case")
    args = parser.parse_args(argv)
    if not 0 < args.val < 1:
        parser.error(f'--val must be between 0 and 1, got {args.val}')
    if args.case_sensitive and not args.dict_file:
        parser.error('--case-sensitive goes with --dict-file (the plate dictionary has no '
                     'lower case)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.datasets.lrlpr_track_dataset import (
        no_lr_frames,
        track_folders_with_files,
        track_frame,
    )
    from dld.models.dictionary import DictionaryError
    from dld.registry import TASK_UTILS
    from dld.utils.atomic_file import text_writer, write_files_together
    if not osp.isdir(args.data_root):
        print(f'split_tracks.py: {args.data_root} is not a folder', file=sys.stderr)
        return 2
    dictionary = dict(type='Dictionary')
    if args.dict_file:
        dictionary.update(dict_file=args.dict_file, case_sensitive=args.case_sensitive)
        try:  # before the folders are walked: read once, said in one line
            TASK_UTILS.build(dictionary)
        except (DictionaryError, OSError) as err:
            print(f'split_tracks.py: --dict-file: {err}', file=sys.stderr)
            return 2
    tracks, folders, unreadable = [], [], []
    # the files as the walk listed them: no second listing of each folder
    for folder, names in track_folders_with_files(args.data_root):
        if any((track_frame(n) or ('', ))[0] == 'lr' for n in names):
            # '/' on every system: a list written on Windows is read elsewhere too
            tracks.append(osp.relpath(folder, args.data_root).replace(os.sep, '/'))
            folders.append(folder)
        else:  # the datasets refuse it: listed, it would stop the set that reads the list
            unreadable.append(f'{osp.relpath(folder, args.data_root)} ({no_lr_frames(names)})')
    if unreadable:
        from dld.utils.listing import first_and_more
        print(f'split_tracks.py: left out {len(unreadable)} track folder(s) without lr-* '
              f"frames: {first_and_more(unreadable, 5, sep='; ')}", file=sys.stderr)
    if not tracks:
        print(f'split_tracks.py: no track folder (one holding lr-* frames) below '
              f'{args.data_root}', file=sys.stderr)
        return 2
    out_dir = args.out_dir or osp.join(args.data_root, 'splits')
    paths = {name: osp.join(out_dir, f'{name}.txt') for name in ('train', 'val')}
    existing = [p for p in paths.values() if osp.exists(p)]
    if existing and not args.force:
        print(f'split_tracks.py: {", ".join(existing)} exist(s); --force replaces them',
              file=sys.stderr)
        return 2
    read = _warn_refused_tracks(args.data_root, folders, dictionary)
    train, val = split_tracks(tracks, args.val, args.seed)
    both = plates_on_both_sides(train, val, _track_plates(args.data_root, tracks, read))
    moved = set()
    if both and args.by_plate:
        held = set(val)  # once: a set of val made for each track was quadratic
        moved = {t for owned in both.values() for t in owned if t in held}
        train, val = sorted(train + sorted(moved)), [t for t in val if t not in moved]
        print(f'split_tracks.py: --by-plate: {len(moved)} held-out track(s) of {len(both)} '
              'plate(s) that training tracks show too moved to train', file=sys.stderr)
    elif both:
        from dld.utils.listing import first_and_more
        held = set(val)
        said = [f"{plate} (train: {', '.join(t for t in owned if t not in held)}; val: "
                f"{', '.join(t for t in owned if t in held)})" for plate, owned in both.items()]
        print(f'split_tracks.py: warning: {len(both)} plate(s) have tracks in both lists, '
              f"so validation reads plates training saw: {first_and_more(said, 5, sep='; ')}; "
              '--by-plate keeps each plate\'s tracks together (tools/analysis/check_data.py '
              '--duplicates finds copies under other labels)', file=sys.stderr)
    if not val and moved:
        print(f'split_tracks.py: --by-plate moved all {len(moved)} held-out track(s) to train: '
              'each has a plate training tracks show too; hold out more (--val) or another '
              'draw (--seed), or split without --by-plate', file=sys.stderr)
        return 2
    if not val:  # a validation set of no track fails only when training builds it
        print(f'split_tracks.py: --val {args.val:g} of {len(tracks)} track(s) holds out none '
              '(every group holds one track, or the share rounds to 0); raise --val',
              file=sys.stderr)
        return 2
    # together: a full disk at val.txt left the new train.txt beside the old
    # val.txt, a split whose validation tracks were trained on
    try:
        write_files_together(out_dir, {
            osp.basename(paths[name]): text_writer(''.join(f'{t}\n' for t in listed))
            for name, listed in (('train', train), ('val', val))})
    except OSError as err:
        name = err.filename if isinstance(err.filename, str) else out_dir
        kept = ' (the lists there kept as they were)' if existing else ''
        print(f'split_tracks.py: cannot write {name}: {err.strerror or err}; no list '
              f'written{kept}', file=sys.stderr)
        return 1
    from dld.evaluation.metrics.metric_groups import track_group
    groups = len({track_group(t) for t in tracks})
    print(f'{len(tracks)} tracks in {groups} group(s): {len(train)} in {paths["train"]}, '
          f'{len(val)} in {paths["val"]} (seed {args.seed})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
