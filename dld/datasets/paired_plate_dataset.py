"""Label-file plate dataset: ``lr1,...,lrN|hr1,...,hrN<TAB>TEXT``."""
import os.path as osp
from typing import Dict, Iterator, List, Union

from dld.registry import DATASETS

from .base_plate_dataset import BasePlateDataset, TrackRecord
from .errors import PlateAnnotationError


@DATASETS.register_module()
class PairedPlateDataset(BasePlateDataset):
    """Reads tracks from a label file, one track a line::

        lr1.png,lr2.png,...,lrN.png|hr1.png,...,hrN.png<TAB>TEXT
        lr1.png,...,lrN.png<TAB>TEXT            # LR-only: eval / inference

    Paths are relative to ``data_root`` (absolute paths are kept). Blank
    lines and lines starting with ``#`` are ignored. The track id is the
    folder shared by the LR frames (``'line<N>'`` when they share none, and
    ``'<folder>#<N>'`` for a repeated folder).

    See :class:`BasePlateDataset` for the other arguments.
    """

    def iter_tracks(self) -> Iterator[Union[TrackRecord, PlateAnnotationError]]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'Label file not found: {self.ann_file!r} (data_root={self.data_root!r}). '
                'For the synthetic set run tools/make_synth_plates.py.')
        seen: Dict[str, int] = {}
        with open(self.ann_file, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip('\r\n')
                if not line.strip() or line.lstrip().startswith('#'):
                    continue
                where = f'{self.ann_file}:{lineno}'
                try:
                    yield self._parse_line(line, where, lineno, seen)
                except PlateAnnotationError as err:
                    yield err

    def _split_paths(self, part: str, where: str, what: str) -> List[str]:
        paths = [p.strip() for p in part.split(',')]
        if not paths or any(not p for p in paths):
            raise PlateAnnotationError(where, f'empty {what} frame path in {part!r}')
        return [osp.abspath(osp.join(self.data_root, p)) for p in paths]

    def _parse_line(self, line: str, where: str, lineno: int,
                    seen: Dict[str, int]) -> TrackRecord:
        if '\t' not in line:
            if not self.allow_empty_text:
                raise PlateAnnotationError(
                    where, 'no TAB between the image paths and the label; expected '
                    "'lr1,...|hr1,...<TAB>TEXT'")
            images, text = line, ''
        else:
            images, text = line.split('\t', 1)
        if '\t' in text:
            raise PlateAnnotationError(where, 'more than one TAB in the line')
        if images.count('|') > 1:
            raise PlateAnnotationError(where, "more than one '|' in the image paths")
        if '|' in images:
            lr_part, hr_part = images.split('|')
            lr = self._split_paths(lr_part, where, 'LR')
            hr = self._split_paths(hr_part, where, 'HR')
        else:
            lr, hr = self._split_paths(images, where, 'LR'), None
        folder = osp.dirname(lr[0])
        shared = all(osp.dirname(p) == folder for p in lr)
        rel = osp.relpath(folder, osp.abspath(self.data_root or '.')) if shared else '.'
        track_id = rel.replace(osp.sep, '/') if rel != '.' else f'line{lineno}'
        if track_id in seen:
            track_id = f'{track_id}#{lineno}'
        seen[track_id] = lineno
        return TrackRecord(where=where, track_id=track_id, lr_paths=lr, hr_paths=hr, text=text)
