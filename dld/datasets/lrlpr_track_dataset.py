"""Track-folder plate dataset of the ICPR 2026 LRLPR challenge (UFPR release)."""
import functools
import json
import logging
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional, Tuple, Union

from mmengine.logging import print_log

from dld.registry import DATASETS
from dld.utils.folder_walk import walk_following_links
from dld.utils.listing import first_and_more
from dld.utils.path_hints import backslash_hint

from .base_plate_dataset import BasePlateDataset, TrackRecord
from .errors import DataNotFoundError, PlateAnnotationError
from .paired_plate_dataset import decode_label_line, read_label_lines, refuse_json
from .transforms.loading import IMAGE_EXTENSIONS

_FRAME_RE = re.compile(r'^(lr|hr)-(\d+)(\.[^.]+)$', re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def track_frame(name: str) -> Optional[Tuple[str, int]]:
    """``('lr' | 'hr', frame number)`` of a track folder's frame file name
    (``lr-001.png``, ``HR-2.jpg``, any image ending inference reads: a
    ``.bmp`` frame was read by neither), else None. Cached: a set's tracks
    name their frames alike (``lr-001.png`` ... again and again), and a
    regular expression per frame was a sixth of reading a label file."""
    m = _FRAME_RE.match(name)
    if m is None or m.group(3).lower() not in IMAGE_EXTENSIONS:
        return None
    return m.group(1).lower(), int(m.group(2))


#: A name meant as a frame that is none: ``lr-003.jfif`` (no image ending
#: DLD reads), ``lr-002 (1).png``, ``hr-001 - Kopie.png``, ``lr_001.png``.
_FRAME_LIKE = re.compile(r'^(lr|hr)[-_ ]?\d', re.IGNORECASE)


def named_like_frame(name: str) -> Optional[str]:
    """``'lr'`` or ``'hr'`` for a name meant as a frame (``lr_001.png``,
    ``HR-2.jpg``), frame or not; else None."""
    m = _FRAME_LIKE.match(name)
    return m.group(1).lower() if m else None


def files_not_frames(filenames) -> List[str]:
    """The files of a track folder that are images, or named like frames,
    but are no frame: not read, which is said (a copy's ``lr-002 (1).png``
    or an ``lr-003.jfif`` was passed over without a word)."""
    return sorted(n for n in filenames if track_frame(n) is None and not n.startswith('.')
                  and (n.lower().endswith(IMAGE_EXTENSIONS) or _FRAME_LIKE.match(n)))


def is_track_folder(folder: str, filenames) -> bool:
    """Whether a folder of these files is meant as a track: it holds a frame,
    or an ``annotations.json`` with a ``plate_text`` (a COCO or CVAT
    export's ``annotations.json`` beside plain images is no track). One
    without ``lr-*`` frames is then refused (or skipped and counted), not
    passed over: its frames named otherwise (``lr_001.png``), or HR frames
    alone, would be a track lost silently."""
    if any(track_frame(n) is not None for n in filenames):
        return True
    path = osp.join(folder, 'annotations.json')
    if 'annotations.json' not in filenames or osp.getsize(path) > MAX_TRACK_ANNOTATION:
        return False  # a large one is an export's, not parsed on every scan
    try:
        with open(path, 'rb') as f:
            ann = json.loads(f.read().decode('utf-8-sig'))
    except (OSError, ValueError, RecursionError):  # unreadable: not taken for a track's
        return False
    return isinstance(ann, dict) and 'plate_text' in ann


#: A track's annotations.json holds a plate's text, layout and corners.
MAX_TRACK_ANNOTATION = 64 * 1024


def no_lr_frames(filenames, shown: int = 3) -> str:
    """What a track folder without ``lr-*`` frames holds instead, and what a
    frame's name is."""
    # frames named otherwise ('lr_001.png') beside hr-* ones: the names are the cause
    images = sorted(n for n in filenames
                    if n.lower().endswith(IMAGE_EXTENSIONS) and track_frame(n) is None)
    otherwise = (f"named otherwise, e.g. {first_and_more(images, shown)}: a frame "
                 f"is lr-<N> or hr-<N> with an image ending, {' '.join(IMAGE_EXTENSIONS)}")
    if any((track_frame(n) or ('', ))[0] == 'hr' for n in filenames):
        return ('its hr-* frames have no LR frames to pair with'
                + (f'; it holds images {otherwise}' if images else ''))
    return f'its images are {otherwise}' if images else 'it holds no image'



def read_plate_text(ann_path: str) -> Optional[str]:
    """``plate_text`` of an ``annotations.json`` (``''`` when the field is
    absent), None when there is no such file.

    Raises:
        PlateAnnotationError: not UTF-8, invalid JSON, no JSON object, or a
            ``plate_text`` that is not a string.
    """
    if not osp.isfile(ann_path):
        return None
    with open(ann_path, 'rb') as f:
        raw = f.read()
    try:
        content = raw.decode('utf-8-sig')  # a BOM is not JSON, but editors write one
    except UnicodeDecodeError as err:
        lineno = err.object.count(b'\n', 0, err.start) + 1
        raise PlateAnnotationError(
            f'{ann_path}:{lineno}', 'not valid UTF-8 (byte(s) '
            f'0x{err.object[err.start:err.end].hex()}); save it as UTF-8') from err
    try:
        ann = json.loads(content)
    except json.JSONDecodeError as err:
        raise PlateAnnotationError(f'{ann_path}:{err.lineno}',
                                   f'invalid JSON ({err.msg})') from err
    except RecursionError:
        raise PlateAnnotationError(ann_path, 'invalid JSON (nested too deeply)') from None
    if not isinstance(ann, dict):
        raise PlateAnnotationError(ann_path, 'annotations.json must hold a JSON object')
    text = ann.get('plate_text', '')
    if not isinstance(text, str):
        raise PlateAnnotationError(ann_path, f'plate_text must be a string, got {text!r}')
    return text


def find_track_folders(root: str) -> List[str]:
    """Every track folder below ``root`` (:func:`is_track_folder`), sorted.
    Symlinked folders (a scenario linked in from elsewhere) are tracks too;
    a link back up the tree is walked once."""
    return [folder for folder, _ in track_folders_with_files(root)]


def track_folders_with_files(root: str) -> List[Tuple[str, List[str]]]:
    """:func:`find_track_folders`, each with its file names (sorted) as the
    walk listed them: a caller that looks at a track's frames need not list
    its folder again (100,000 listings of a release's tracks)."""
    return sorted((dirpath, filenames) for dirpath, _, filenames in walk_following_links(root)
                  if is_track_folder(dirpath, filenames))


@DATASETS.register_module()
class LRLPRTrackDataset(BasePlateDataset):
    """One folder per track, anywhere below ``data_root``::

        train/Scenario-A/Brazilian/track_00001/
            lr-001.png ... lr-005.png     (.png or .jpg)
            hr-001.png ... hr-005.png     (absent at test time)
            annotations.json              {"plate_layout": ..., "plate_text": ...,
                                           "corners": {...}}  (optional fields)

    A track folder is any folder holding ``lr-*`` frames (symlinked folders
    are followed). ``annotations.json``
    may be missing (unlabelled test data; needs ``allow_empty_text=True``);
    ``corners`` and ``plate_layout`` are optional. The track id is the
    folder path relative to ``data_root``. ``lr-K`` pairs with ``hr-K`` by
    frame number, so when HR frames are there both must have the same
    numbers. ``annotations.json`` and the track list are UTF-8 (a
    byte-order mark is allowed).

    Args:
        ann_file (str): optional text file listing track folders (relative to
            ``data_root``), one a line, to pick a split; empty scans
            ``data_root`` recursively.
        See :class:`BasePlateDataset` for the other arguments.
    """

    no_hr_frames = 'no hr-* frames in the folder'
    no_tracks_hint = ('A track is a folder holding lr-* frames (lr-001.png, .jpg, ...); '
                      'without ann_file every such folder below data_root is read, with '
                      'it the folders it lists. Point data_root at the release or one of '
                      'its splits.')

    def _track_dirs(self) -> Iterator[Union[str, PlateAnnotationError]]:
        """Each track folder, or the error of a track-list line."""
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise DataNotFoundError(
                    f'Track list not found: {self.ann_file!r}. ann_file is optional here: '
                    "ann_file='' reads every track folder below data_root (a config "
                    "that inherits a paired-format set's ann_file='train.txt' must "
                    'set it).')
            raw_lines = read_label_lines(self.ann_file)
            refuse_json(self.ann_file, raw_lines, 'a track list, one track folder a line')
            listed: Dict[str, int] = {}  # folder -> the line that named it first
            for lineno, raw in enumerate(raw_lines, 1):
                try:
                    name = decode_label_line(raw, f'{self.ann_file}:{lineno}').strip()
                except PlateAnnotationError as err:
                    yield err
                    continue
                if not name or name.startswith('#'):
                    continue
                folder = osp.join(self.data_root, name)
                if not osp.isdir(folder):  # said where it is listed, not only what
                    yield PlateAnnotationError(f'{self.ann_file}:{lineno}',
                                               f'track folder not found: {folder}'
                                               + backslash_hint([name]))
                    continue
                real = osp.realpath(folder)
                if real in listed:  # its annotations.json was named as both places
                    yield PlateAnnotationError(
                        f'{self.ann_file}:{lineno}', f'track folder {name!r} is listed '
                        f'already, at line {listed[real]}; each track of a set needs its own '
                        'line')
                    continue
                listed[real] = lineno
                yield folder
            return
        if not osp.isdir(self.data_root):
            raise DataNotFoundError(f'LRLPR data_root is not a folder: {self.data_root!r}')
        yield from find_track_folders(self.data_root)

    def iter_tracks(self) -> Iterator[Union[TrackRecord, PlateAnnotationError]]:
        self._not_frames: List[str] = []
        for folder in self._track_dirs():
            if isinstance(folder, PlateAnnotationError):
                yield folder
                continue
            try:
                yield self._read_track(folder)
            except PlateAnnotationError as err:
                yield err
        if self._not_frames:
            print_log(f'{self.data_root}: {len(self._not_frames)} file(s) in track folders are '
                      f'not read, being no frame, e.g. {self._not_frames[0]}: a frame is lr-<N> '
                      f"or hr-<N> with an image ending, {' '.join(IMAGE_EXTENSIONS)}",
                      logger='current', level=logging.WARNING)

    @staticmethod
    def _frames(folder: str, files: List[str], kind: str, where: str) -> Dict[int, str]:
        """``{frame number: absolute path}`` of the ``kind`` frames."""
        by_idx: Dict[int, str] = {}
        for n in files:
            frame = track_frame(n)
            if frame is not None and frame[0] == kind:
                idx = frame[1]
                if idx in by_idx:
                    raise PlateAnnotationError(
                        where, f'{kind}-{idx:03d} exists twice ({by_idx[idx]}, {n})')
                by_idx[idx] = n
        return {i: osp.abspath(osp.join(folder, by_idx[i])) for i in sorted(by_idx)}

    @staticmethod
    def _pair_frames(lr: Dict[int, str], hr: Dict[int, str],
                     where: str) -> Tuple[List[str], Optional[List[str]]]:
        """LR and HR paths paired by frame number (sort position would pair
        lr-002 with hr-003 when hr-002 is missing and hr-004 is there)."""
        if not hr:
            return list(lr.values()), None
        if set(lr) != set(hr):
            unpaired = []
            for kind, alone, other in (('lr', set(lr) - set(hr), 'HR'),
                                       ('hr', set(hr) - set(lr), 'LR')):
                if alone:
                    names = ', '.join(f'{kind}-{i:03d}' for i in sorted(alone))
                    unpaired.append(f'{names} without {other}')
            raise PlateAnnotationError(
                where, f'{len(lr)} LR frames but {len(hr)} HR frames, numbered otherwise '
                f'({"; ".join(unpaired)}); LR and HR must pair frame by frame')
        return [lr[i] for i in sorted(lr)], [hr[i] for i in sorted(lr)]

    def _read_text(self, ann_path: str) -> Optional[str]:
        return read_plate_text(ann_path)

    def _read_track(self, folder: str) -> TrackRecord:
        if not osp.isdir(folder):
            raise PlateAnnotationError(folder, 'track folder not found')
        files = os.listdir(folder)
        if not any((track_frame(n) or ('',))[0] == 'lr' for n in files):
            above = any(osp.isdir(osp.join(folder, n)) for n in files)
            raise PlateAnnotationError(folder, f'no lr-* frames ({no_lr_frames(files)})' + (
                '; a track is the folder holding the frames, not one above it' if above
                else ''))
        lr, hr = self._pair_frames(self._frames(folder, files, 'lr', folder),
                                   self._frames(folder, files, 'hr', folder), folder)
        if hasattr(self, '_not_frames'):
            self._not_frames += [osp.join(folder, n) for n in files_not_frames(files)]
        ann_path = osp.join(folder, 'annotations.json')
        text = self._read_text(ann_path)
        where = ann_path if text is not None else folder
        if not (text or '').strip() and not self.allow_empty_text:
            # said here, where it is known which: the base's "empty label"
            # would send a training folder's user after allow_empty_text
            raise PlateAnnotationError(where, (
                'no annotations.json' if text is None else
                'its plate_text is missing or empty') + ': a track to train or evaluate on '
                'needs its label (allow_empty_text=True reads unlabelled tracks, as the '
                'blind test release)')
        track_id = osp.relpath(folder, self.data_root or '.')
        return TrackRecord(where=where, track_id=track_id.replace(os.sep, '/'),
                           lr_paths=lr, hr_paths=hr, text=text or '')
