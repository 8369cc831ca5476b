"""Track-folder plate dataset of the ICPR 2026 LRLPR challenge (UFPR release)."""
import json
import os
import os.path as osp
import re
from typing import Iterator, List, Optional, Union

from dld.registry import DATASETS

from .base_plate_dataset import BasePlateDataset, TrackRecord
from .errors import PlateAnnotationError

_FRAME_RE = re.compile(r'^(lr|hr)-(\d+)\.(png|jpg|jpeg)$', re.IGNORECASE)


@DATASETS.register_module()
class LRLPRTrackDataset(BasePlateDataset):
    """One folder per track, anywhere below ``data_root``::

        train/Scenario-A/Brazilian/track_00001/
            lr-001.png ... lr-005.png     (.png or .jpg)
            hr-001.png ... hr-005.png     (absent at test time)
            annotations.json              {"plate_layout": ..., "plate_text": ...,
                                           "corners": {...}}  (optional fields)

    A track folder is any folder holding ``lr-*`` frames. ``annotations.json``
    may be missing (unlabelled test data; needs ``allow_empty_text=True``);
    ``corners`` and ``plate_layout`` are optional. The track id is the
    folder path relative to ``data_root``.

    Args:
        ann_file (str): optional text file listing track folders (relative to
            ``data_root``), one a line, to pick a split; empty scans
            ``data_root`` recursively.
        See :class:`BasePlateDataset` for the other arguments.
    """

    def _track_dirs(self) -> List[str]:
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise FileNotFoundError(f'Track list not found: {self.ann_file!r}')
            with open(self.ann_file, encoding='utf-8') as f:
                names = [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]
            return [osp.join(self.data_root, n) for n in names]
        if not osp.isdir(self.data_root):
            raise FileNotFoundError(f'LRLPR data_root is not a folder: {self.data_root!r}')
        found = []
        for dirpath, dirnames, filenames in os.walk(self.data_root):
            dirnames.sort()
            if any(_FRAME_RE.match(n) and n.lower().startswith('lr') for n in filenames):
                found.append(dirpath)
        return sorted(found)

    def iter_tracks(self) -> Iterator[Union[TrackRecord, PlateAnnotationError]]:
        for folder in self._track_dirs():
            try:
                yield self._read_track(folder)
            except PlateAnnotationError as err:
                yield err

    @staticmethod
    def _frames(folder: str, files: List[str], kind: str, where: str) -> List[str]:
        by_idx = {}
        for n in files:
            m = _FRAME_RE.match(n)
            if m and m.group(1).lower() == kind:
                idx = int(m.group(2))
                if idx in by_idx:
                    raise PlateAnnotationError(
                        where, f'{kind}-{idx:03d} exists twice ({by_idx[idx]}, {n})')
                by_idx[idx] = n
        return [osp.abspath(osp.join(folder, by_idx[i])) for i in sorted(by_idx)]

    def _read_text(self, ann_path: str) -> Optional[str]:
        if not osp.isfile(ann_path):
            return None
        try:
            with open(ann_path, encoding='utf-8') as f:
                ann = json.load(f)
        except json.JSONDecodeError as err:
            raise PlateAnnotationError(f'{ann_path}:{err.lineno}',
                                       f'invalid JSON ({err.msg})') from err
        if not isinstance(ann, dict):
            raise PlateAnnotationError(ann_path, 'annotations.json must hold a JSON object')
        text = ann.get('plate_text', '')
        if not isinstance(text, str):
            raise PlateAnnotationError(ann_path, f'plate_text must be a string, got {text!r}')
        return text

    def _read_track(self, folder: str) -> TrackRecord:
        if not osp.isdir(folder):
            raise PlateAnnotationError(folder, 'track folder not found')
        files = os.listdir(folder)
        lr = self._frames(folder, files, 'lr', folder)
        hr = self._frames(folder, files, 'hr', folder)
        ann_path = osp.join(folder, 'annotations.json')
        text = self._read_text(ann_path)
        where = ann_path if text is not None else folder
        track_id = osp.relpath(folder, self.data_root or '.')
        return TrackRecord(where=where, track_id=track_id.replace(os.sep, '/'),
                           lr_paths=lr, hr_paths=hr or None, text=text or '')
