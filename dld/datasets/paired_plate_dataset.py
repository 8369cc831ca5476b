"""Label-file plate dataset: ``lr1,...,lrN|hr1,...,hrN<TAB>TEXT``."""
import json
import os.path as osp
import re
from typing import Dict, Iterator, List, Union

from dld.registry import DATASETS

from .base_plate_dataset import BasePlateDataset, TrackRecord
from .errors import DataNotFoundError, PlateAnnotationError


def read_label_lines(path: str) -> List[bytes]:
    """The lines of a label file, undecoded (``'\\n'``, ``'\\r\\n'`` and
    ``'\\r'`` end one, as text mode reads them). A file in UTF-16 (Excel's
    "Unicode Text", Notepad's "Unicode") is refused whole, naming the
    encoding: line by line, each of its lines was another error."""
    with open(path, 'rb') as f:
        data = f.read()
    utf16 = ('it starts with a UTF-16 byte-order mark' if data[:2] in (b'\xff\xfe', b'\xfe\xff')
             else 'it holds NUL bytes, as UTF-16 does' if b'\x00' in data[:4096] else '')
    if utf16:
        raise PlateAnnotationError(
            f'{path}:1', f'the file is not UTF-8 text ({utf16}: saved as "Unicode Text" '
            'or "Unicode"?); save it as UTF-8')
    return data.splitlines()


def decode_label_line(raw: bytes, where: str) -> str:
    """One line of a label file as text.

    Decoded line by line, so one line in another encoding is an error that
    names it (skippable with ``strict=False``) rather than a failure of the
    whole file; a UTF-8 byte-order mark (Notepad, Excel) is dropped so it
    does not become part of the first path.
    """
    try:
        return raw.decode('utf-8-sig')
    except UnicodeDecodeError as err:
        bad = err.object[err.start:err.end]
        pos = len(raw) - len(err.object) + err.start + 1  # err.object lacks the BOM
        raise PlateAnnotationError(
            where, f'not valid UTF-8 (byte(s) 0x{bad.hex()} at byte {pos} of the line); '
            'save the file as UTF-8') from err


@DATASETS.register_module()
class PairedPlateDataset(BasePlateDataset):
    """Reads tracks from a label file, one track a line::

        lr1.png,lr2.png,...,lrN.png|hr1.png,...,hrN.png<TAB>TEXT
        lr1.png,...,lrN.png<TAB>TEXT            # LR-only: eval / inference
        |hr1.png,...,hrN.png<TAB>TEXT           # HR-only: read by a model reading HR

    The file is UTF-8 (a byte-order mark is allowed). Paths are relative to
    ``data_root`` (absolute paths are kept). Blank lines and lines starting
    with ``#`` are ignored. The track id is the folder shared by the LR
    frames, the HR ones of an HR-only track (``'line<N>'`` when they share
    none, and ``'<folder>#<N>'`` for a repeated folder).

    See :class:`BasePlateDataset` for the other arguments.
    """

    no_hr_frames = "no '|' before the HR frames"
    hr_frames_hint = (" ('|img.png<TAB>TEXT' gives an image as the HR frame alone, "
                      "'img.png|img.png<TAB>TEXT' as both; a PaddleOCR or MMOCR label file "
                      'converts with tools/dataset_converters/ocr_rec_labels.py)')
    no_tracks_hint = ('The label file holds no track line (blank lines and # comments '
                      "are skipped); a track is a line 'lr1,...|hr1,...<TAB>TEXT'.")

    def iter_tracks(self) -> Iterator[Union[TrackRecord, PlateAnnotationError]]:
        if not osp.isfile(self.ann_file):
            raise DataNotFoundError(
                f'Label file not found: {self.ann_file!r} (ann_file, read below '
                f'data_root={self.data_root!r}): check the two settings. The synthetic '
                "set's label files are written by tools/make_synth_plates.py (or by any "
                'tool, for a config with `synth_plates`; from Python, '
                'dld.datasets.synth.ensure_synth_plates(**cfg.synth_plates), and of '
                'cfg.train_synth_plates where the config has one).')
        seen: Dict[str, int] = {}
        # abspath(join(data_root, p)) as one join to the absolute root: an
        # abspath (and for a relative root a getcwd) per frame, 10 a track
        self._abs_root = osp.abspath(self.data_root or '.')
        raw_lines = read_label_lines(self.ann_file)
        refuse_json(self.ann_file, raw_lines)
        for lineno, raw in enumerate(raw_lines, 1):
            where = f'{self.ann_file}:{lineno}'
            try:
                line = decode_label_line(raw, where)
                if not line.strip() or line.lstrip().startswith('#'):
                    continue
                yield self._parse_line(line, where, lineno, seen)
            except PlateAnnotationError as err:
                # refused before its frames named a folder: the track of
                # line N, kept from the later lines' ids (inference votes it)
                track_id = f'line{lineno}'
                if track_id in seen:
                    track_id = f'{track_id}#{lineno}'
                seen[track_id] = lineno
                err.track_id = track_id
                yield err

    def _split_paths(self, part: str, where: str, what: str) -> List[str]:
        paths = [p.strip() for p in part.split(',')]
        if not paths or any(not p for p in paths):
            raise PlateAnnotationError(where, f'empty {what} frame path in {part!r}')
        self._refuse_comma_in_a_name(paths, where)
        root = getattr(self, '_abs_root', None) or osp.abspath(self.data_root or '.')
        return [osp.normpath(osp.join(root, p)) for p in paths]

    def _refuse_comma_in_a_name(self, paths: List[str], where: str) -> None:
        """A piece with no file extension that is a file's name once joined
        to the next by the comma it was split at: a file name holding ','
        (``lr,1.png``), which the line cannot list. It was "frame .../lr is
        listed twice" or missing files that are none. Looked up only for a
        piece without an extension."""
        for i, piece in enumerate(paths[:-1]):
            if osp.splitext(piece)[1]:
                continue
            joined = f'{piece},{paths[i + 1]}'
            if osp.isfile(osp.join(self.data_root, joined)):
                raise PlateAnnotationError(
                    where, f"the file name {joined!r} holds a ',', which separates a line's "
                    'frames: rename the file')

    def _refuse_label_after_spaces(self, images: str, where: str) -> None:
        """An unlabelled line whose last path is no file, but is one up to one
        of its spaces: a label typed after spaces instead of a TAB.

        Why: an unlabelled line is valid for inference, so the label became
        part of the last path; on a paired line that is an HR path the LR
        student never opens, and the line was read as an unlabelled track,
        silently. Only this one path is looked up, at each of its spaces."""
        last = images.replace('|', ',').rsplit(',', 1)[-1].strip()
        spaces = list(re.finditer(r'\s+', last))
        if not spaces or osp.exists(osp.join(self.data_root, last)):
            return
        # the label may hold spaces itself ('NO PARKING'): try each space, last first
        for space in reversed(spaces):
            head = last[:space.start()]
            if osp.isfile(osp.join(self.data_root, head)):
                raise PlateAnnotationError(
                    where, f'no TAB before the label: {last!r} is no file, but {head!r} is '
                    "one; a label file puts a TAB between the image paths and the label")

    def _parse_line(self, line: str, where: str, lineno: int,
                    seen: Dict[str, int]) -> TrackRecord:
        if '\t' not in line:
            if not self.allow_empty_text:
                raise PlateAnnotationError(
                    where, 'no TAB between the image paths and the label; expected '
                    "'lr1,...|hr1,...<TAB>TEXT'")
            images, text = line, ''
            self._refuse_label_after_spaces(images, where)
        else:
            images, text = line.split('\t', 1)
        if '\t' in text.rstrip():  # a TAB after the label (a spreadsheet's empty column) is none
            raise PlateAnnotationError(where, 'more than one TAB in the line')
        if images.count('|') > 1:
            raise PlateAnnotationError(where, "more than one '|' in the image paths")
        if images.lstrip().startswith('["'):
            raise PlateAnnotationError(
                where, "the images are a JSON list (PaddleOCR's); a DLD line lists a track's "
                f"frames with ',': convert the file with {CONVERTER}")
        if '|' in images:
            lr_part, hr_part = images.split('|')
            hr = self._split_paths(hr_part, where, 'HR')
            # '|hr1,hr2<TAB>TEXT': HR crops alone, for a model that reads HR
            lr = [None] * len(hr) if not lr_part.strip() else self._split_paths(
                lr_part, where, 'LR')
        else:
            lr, hr = self._split_paths(images, where, 'LR'), None
        if hr is not None and lr[0] is not None:
            _check_frames_pair(lr, hr, where)
        named = hr if lr[0] is None else lr
        folder = osp.dirname(named[0])
        shared = all(osp.dirname(p) == folder for p in named)
        rel = osp.relpath(folder, osp.abspath(self.data_root or '.')) if shared else '.'
        if rel == osp.pardir or rel.startswith(osp.pardir + osp.sep):
            rel = folder  # outside data_root (absolute paths): '../../x' says less
        track_id = rel.replace(osp.sep, '/') if rel != '.' else f'line{lineno}'
        if track_id in seen:
            track_id = f'{track_id}#{lineno}'
        seen[track_id] = lineno
        return TrackRecord(where=where, track_id=track_id, lr_paths=lr, hr_paths=hr, text=text)


#: the tool that writes DLD label files from other OCR toolkits' labels
CONVERTER = 'tools/dataset_converters/ocr_rec_labels.py'


def refuse_json(path: str, raw_lines: List[bytes],
                expected: str = "a DLD label file of 'lr1,...|hr1,...<TAB>TEXT' lines") -> None:
    """A label file that is one JSON document (an MMOCR annotation, given
    as ``ann_file``) is refused whole: line by line, each of its lines was
    "no TAB between the image paths and the label"."""
    first = next((line.strip() for line in raw_lines if line.strip()), b'')
    if not first.lstrip(b'\xef\xbb\xbf').startswith((b'{', b'[')):
        return
    try:
        doc = json.loads(b'\n'.join(raw_lines).decode('utf-8-sig'))
    except ValueError:
        return  # no JSON document: its lines are said one by one
    what = ("an MMOCR annotation ('data_list')" if isinstance(doc, dict) and 'data_list' in doc
            else 'a JSON document')
    raise PlateAnnotationError(
        f'{path}:1', f'the file is {what}, not {expected}: a PairedPlateDataset label file '
        f'of it is written by {CONVERTER} (docs/datasets.md, "Coming from MMOCR or '
        'PaddleOCR")')


def _check_frames_pair(lr: List[str], hr: List[str], where: str) -> None:
    """LR and HR frames pair by their place in the two lists: where both
    are named as frames (``lr-002.png``, ``hr-001.png``), their numbers
    must agree, or a model learns from an HR frame of another moment
    (``lr-001,lr-002|hr-002,hr-001`` was taken without a word)."""
    from .lrlpr_track_dataset import track_frame
    lr_frames = [track_frame(osp.basename(p)) for p in lr]
    hr_frames = [track_frame(osp.basename(p)) for p in hr]
    if not all(f and f[0] == 'lr' for f in lr_frames) or \
            not all(f and f[0] == 'hr' for f in hr_frames):
        return  # names that are no frames pair by place
    lr_numbers, hr_numbers = [f[1] for f in lr_frames], [f[1] for f in hr_frames]
    # the same frames in other orders; one HR frame for every LR frame
    # (hr-0,hr-0), or the cameras offset on purpose (lr-2,lr-3|hr-1,hr-2), is not
    if sorted(lr_numbers) != sorted(hr_numbers) or lr_numbers == hr_numbers:
        return
    for lr_path, hr_path, lr_frame, hr_frame in zip(lr, hr, lr_frames, hr_frames):
        if lr_frame[1] != hr_frame[1]:
            raise PlateAnnotationError(
                where, f'{lr_path} is paired with {hr_path} (frames {lr_frame[1]} and '
                f'{hr_frame[1]}): LR and HR frames pair by their place in the two lists; '
                'list them in the same order')
