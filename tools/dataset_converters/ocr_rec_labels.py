"""Turn PaddleOCR or MMOCR 1.x recognition labels into a DLD label file.

    python tools/dataset_converters/ocr_rec_labels.py SRC [SRC ...] --out OUT
        [--as both|hr|lr] [--img-prefix DIR] [--data-root DIR]
        [--delimiter TAB] [--skip-bad] [--force]

Reads, each SRC by its content:

* a PaddleOCR recognition label file (``rec_gt_train.txt``): ``img_path<TAB>label``
  a line, the path relative to PaddleOCR's ``data_dir``; a path written as
  a JSON list (``["a.jpg", "b.jpg"]``, images of one text) becomes the
  frames of one track;
* an MMOCR 1.x text recognition annotation (``textrecog_train.json``):
  ``{"metainfo": {...}, "data_list": [{"img_path": ..., "instances":
  [{"text": ...}]}]}``, the path relative to the dataset's ``data_root``
  and ``data_prefix['img_path']`` (give that as ``--img-prefix``).

and writes one DLD line a text (docs/datasets.md, Format 1). One image of
each text serves as both streams by default (``--as both``:
``img.jpg|img.jpg<TAB>TEXT``), what a teacher (HR), DLD training (LR and
HR) and the student's evaluation (LR) all read; ``--as hr`` writes HR-only
lines (``|img.jpg<TAB>TEXT``: a teacher's sets), ``--as lr`` LR-only ones
(``img.jpg<TAB>TEXT``: evaluation and ``tools/infer.py`` only). Set the
config's ``data_root`` to PaddleOCR's ``data_dir`` (MMOCR's ``data_root``).

An entry DLD cannot read (no label, a path holding ``,`` ``|`` or a TAB,
a label holding a TAB, several instances, a missing image with
``--data-root``) stops the conversion naming ``file:line`` (a JSON file's
``data_list[i]``), or, with ``--skip-bad``, is skipped, counted and listed.
Labels are written as they are: the dataset checks them against its
dictionary when it is built (``tools/analysis/check_data.py`` lists every
refused one). Nothing is written unless every source was read.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import os.path as osp
import sys
from typing import List, Tuple

TOOL = 'ocr_rec_labels.py'


class BadEntry(ValueError):
    """An entry DLD cannot read, with where it is (``file:line``)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f'{where}: {reason}')
        self.where = where


# one converted entry: (where, image paths, label)
Entry = Tuple[str, List[str], str]


def is_mmocr_json(path: str, head: str) -> bool:
    """Whether the text ``head`` of ``path`` is a JSON document rather than
    label lines: a ``.json`` name, or text that starts with ``{``."""
    return path.lower().endswith('.json') or head.lstrip('\ufeff \t\r\n').startswith('{')


def read_text(path: str) -> str:
    with open(path, 'rb') as f:
        data = f.read()
    if data[:2] in (b'\xff\xfe', b'\xfe\xff'):
        raise BadEntry(f'{path}:1', 'the file is UTF-16 (a UTF-16 byte-order mark); save it '
                       'as UTF-8')
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b'\n') + 1
        raise BadEntry(f'{path}:{line}', f'not valid UTF-8 (byte 0x{data[err.start]:02x}); '
                       'save the file as UTF-8') from err


def _check_entry(where: str, paths: List[str], text: str) -> Entry:
    """The entry, or :class:`BadEntry` where a DLD line cannot hold it."""
    if not paths or any(not isinstance(p, str) or not p.strip() for p in paths):
        raise BadEntry(where, f'empty or non-text image path in {paths!r}')
    for p in paths:
        bad = [c for c in (',', '|', '\t') if c in p]
        if bad:
            raise BadEntry(where, f'image path {p!r} holds {bad[0]!r}, which a DLD label line '
                           'uses as a separator: rename the file')
    if not isinstance(text, str):
        raise BadEntry(where, f'the label is {type(text).__name__} {text!r}, not text')
    if not text.strip():
        raise BadEntry(where, 'empty label')
    if '\t' in text or '\n' in text or '\r' in text:
        raise BadEntry(where, f'label {text!r} holds a TAB or a line break, which a DLD label '
                       'line cannot')
    return where, [p.strip().replace('\\', '/') for p in paths], text


def paddle_entries(path: str, text: str, delimiter: str = '\t') -> List[object]:
    """The entries of a PaddleOCR label file (a :class:`BadEntry` in place of
    each one that cannot be converted); blank lines are no entries."""
    out: List[object] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f'{path}:{lineno}'
        if not line.strip():
            continue
        try:
            if delimiter not in line:
                raise BadEntry(where, f'no {delimiter!r} between the image path and the label '
                               "(PaddleOCR's 'img_path<TAB>label')")
            parts = line.split(delimiter)
            while len(parts) > 2 and not parts[-1].strip():
                parts.pop()  # a spreadsheet's empty columns after the label
            if len(parts) > 2:
                # PaddleOCR reads parts[1] and drops the rest: said, not dropped
                raise BadEntry(where, f'{len(parts) - 1} delimiters {delimiter!r} in the line, '
                               'one expected (PaddleOCR reads the second field only)')
            name, label = parts
            paths = [name]
            if name.lstrip().startswith('['):  # PaddleOCR's list of images of one text
                try:
                    paths = json.loads(name)
                except ValueError:
                    # no JSON ('[1].jpg'): a file's name, as PaddleOCR reads it
                    paths = [name]
            out.append(_check_entry(where, paths, label))
        except BadEntry as err:
            out.append(err)
    return out


def mmocr_entries(path: str, text: str) -> List[object]:
    """The entries of an MMOCR 1.x text recognition annotation (a
    :class:`BadEntry` in place of each one that cannot be converted)."""
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise BadEntry(f'{path}:{getattr(err, "lineno", 1)}', f'not JSON: {err}') from err
    if not isinstance(doc, dict) or not isinstance(doc.get('data_list'), list):
        raise BadEntry(f'{path}:1', "no 'data_list' list: an MMOCR 1.x annotation is "
                       "{'metainfo': {...}, 'data_list': [{'img_path': ..., 'instances': "
                       "[{'text': ...}]}]} (0.x files: convert with MMOCR's "
                       'tools/dataset_converters first)')
    task = (doc.get('metainfo') or {}).get('task_name') if isinstance(
        doc.get('metainfo'), dict) else None
    if task not in (None, 'textrecog'):
        raise BadEntry(f'{path}:1', f"metainfo task_name is {task!r}: a text recognition "
                       "annotation ('textrecog', cropped words) is needed")
    out: List[object] = []
    for i, item in enumerate(doc['data_list']):
        where = f'{path}:data_list[{i}]'
        try:
            if not isinstance(item, dict) or 'img_path' not in item:
                raise BadEntry(where, "no 'img_path'")
            instances = item.get('instances')
            if not isinstance(instances, list) or len(instances) != 1 \
                    or not isinstance(instances[0], dict) or 'text' not in instances[0]:
                count = len(instances) if isinstance(instances, list) else 0
                raise BadEntry(where, f"{count} instances, one {{'text': ...}} expected (a "
                               'recognition crop holds one text)')
            out.append(_check_entry(where, [item['img_path']], instances[0]['text']))
        except BadEntry as err:
            out.append(err)
    return out


def read_entries(path: str, delimiter: str = '\t') -> List[object]:
    text = read_text(path)
    if is_mmocr_json(path, text[:64]):
        return mmocr_entries(path, text)
    return paddle_entries(path, text, delimiter)


def dld_line(paths: List[str], text: str, streams: str = 'both',
             prefix: str = '') -> str:
    """One DLD label line for the images ``paths`` of ``text``."""
    paths = [p if osp.isabs(p) or not prefix else f'{prefix.rstrip("/")}/{p}' for p in paths]
    # a line starting with '#' is a comment to DLD: './#a.jpg' is the same file
    paths = [f'./{p}' if p.startswith('#') else p for p in paths]
    frames = ','.join(paths)
    images = {'both': f'{frames}|{frames}', 'hr': f'|{frames}', 'lr': frames}[streams]
    return f'{images}\t{text}\n'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('sources', nargs='+', metavar='SRC',
                        help='PaddleOCR label files and MMOCR 1.x textrecog JSON files, read in '
                        'order into one label file')
    parser.add_argument('--out', required=True, help='the DLD label file to write')
    parser.add_argument('--as', dest='streams', choices=('both', 'hr', 'lr'), default='both',
                        help="both (default): each image is the line's LR and HR frame, read "
                        'by a teacher, DLD training and evaluation; hr: HR-only lines (a '
                        "teacher's sets); lr: LR-only lines (evaluation, tools/infer.py)")
    parser.add_argument('--img-prefix', default='',
                        help="put before every relative image path (MMOCR's "
                        "data_prefix['img_path'], e.g. textrecog_imgs/train)")
    parser.add_argument('--data-root',
                        help="the config's data_root (PaddleOCR's data_dir): every image must "
                        'be there, or its entry is bad (default: not checked)')
    parser.add_argument('--delimiter', default='\t',
                        help="PaddleOCR's delimiter between path and label (default a TAB)")
    parser.add_argument('--skip-bad', action='store_true',
                        help='skip entries DLD cannot read, counted and listed, instead of '
                        'stopping at the first')
    parser.add_argument('--force', action='store_true', help='replace an existing --out')
    args = parser.parse_args(argv)
    # '\\t' typed in a shell is two characters; PaddleOCR's YAML writes "\\t" for a TAB
    args.delimiter = {'\\t': '\t'}.get(args.delimiter, args.delimiter)
    if not args.delimiter or args.delimiter in ',|':
        parser.error(f'--delimiter {args.delimiter!r}: give the character between path and '
                     "label (',' and '|' separate frames in DLD's lines)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.utils.atomic_file import write_text_atomic
    from dld.utils.listing import lines_and_more
    if osp.exists(args.out) and not args.force:
        print(f'{TOOL}: {args.out} exists; --force replaces it', file=sys.stderr)
        return 2
    entries: List[object] = []
    for src in args.sources:
        if not osp.isfile(src):
            print(f'{TOOL}: {src} is not a file', file=sys.stderr)
            return 2
        try:
            entries.extend(read_entries(src, args.delimiter))
        except BadEntry as err:  # the whole file: nothing of it can be read
            print(f'{TOOL}: {err}', file=sys.stderr)
            return 1
    lines, bad = [], []
    for entry in entries:
        if isinstance(entry, BadEntry):
            bad.append(entry)
            continue
        where, paths, text = entry
        if args.data_root is not None:
            missing = [p for p in paths if not osp.isfile(
                osp.join(args.data_root, args.img_prefix, p))]
            if missing:
                bad.append(BadEntry(where, f'image {missing[0]!r} is not in '
                                    f'{osp.join(args.data_root, args.img_prefix)}'))
                continue
        lines.append(dld_line(paths, text, args.streams, args.img_prefix))
    if bad and not args.skip_bad:
        more = f' ({len(bad) - 1} more bad entries)' if len(bad) > 1 else ''
        print(f'{TOOL}: {bad[0]}{more}; fix it, or --skip-bad skips such entries, counted; '
              'nothing written', file=sys.stderr)
        return 1
    if bad:
        print(f'{TOOL}: skipped {len(bad)} of {len(entries)} entries:\n'
              f'{lines_and_more([str(e) for e in bad], 10)}', file=sys.stderr)
    if not lines:
        print(f'{TOOL}: no entry to write; nothing written', file=sys.stderr)
        return 1
    try:
        write_text_atomic(args.out, ''.join(lines))
    except OSError as err:
        print(f'{TOOL}: cannot write {args.out}: {err.strerror or err}', file=sys.stderr)
        return 1
    kind = {'both': 'LR and HR', 'hr': 'HR-only', 'lr': 'LR-only'}[args.streams]
    print(f'{len(lines)} {kind} line(s) in {args.out} from {len(args.sources)} file(s)'
          + (f', {len(bad)} skipped' if bad else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
