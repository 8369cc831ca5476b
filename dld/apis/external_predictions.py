"""Another method's predictions (a CSV), scored as DLD scores its own readings.

A method that is not a DLD model (another OCR, a published system run on
the same images) gives one text per image in a CSV. :func:`score_predictions`
pairs its rows with a DLD model's readings of the same test set
(``tools/infer.py --out``, the reference) and returns records in that same
format, so ``tools/analysis/analyze_readings.py EXT.jsonl DLD.jsonl``
compares the two image by image (McNemar, and an interval from a bootstrap
over tracks), and :func:`readings_row` makes a row of a FLOPs / accuracy
report of them.

* The labels, tracks and case rule are the reference's: a prediction is
  right as ``tools/infer.py`` and the config's plate metric count it
  (:func:`~dld.apis.plate_matching.plate_read_right`, upper-cased unless
  the reference was scored case-sensitively).
* An image of the reference the CSV has no row for is kept as a failed
  record (``error_type`` ``MissingPrediction``): read wrong, never dropped.
* A CSV row naming no image of the reference, or an image twice, is an
  error (a path written from another folder would otherwise score as a
  whole set of missing predictions).
"""
import csv
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from .plate_matching import plate_read_right
from .reading_analysis import ReadingsError, is_labelled, judged_case_sensitively

PATH_COLUMNS = ('path', 'image', 'img', 'file', 'filename')
TEXT_COLUMNS = ('text', 'pred', 'prediction', 'pred_text')
MISSING = 'MissingPrediction'


def _column(header: Sequence[str], names: Sequence[str]) -> Optional[str]:
    low = {h.strip().lower(): h for h in header}
    return next((low[n] for n in names if n in low), None)


def _number(value: str, where: str, what: str) -> Optional[float]:
    if value is None or not value.strip():
        return None
    try:
        x = float(value)
    except ValueError:
        raise ReadingsError(f'{where}: {what} {value!r} is not a number') from None
    if not math.isfinite(x) or x < 0:
        raise ReadingsError(f'{where}: {what} {value!r} is not a finite number >= 0')
    return x


def read_predictions(path: str) -> List[dict]:
    """The rows of a predictions CSV: ``path`` (as written), ``text``,
    ``gflops`` and ``confidence`` (None where absent), ``where``
    (``file:line``). The header names the columns: the image one of
    ``path image img file filename``, the text one of ``text pred prediction
    pred_text``; ``gflops`` and ``confidence`` are optional."""
    try:
        with open(path, encoding='utf-8-sig', newline='') as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            image, text = _column(header, PATH_COLUMNS), _column(header, TEXT_COLUMNS)
            if image is None or text is None:
                raise ReadingsError(
                    f'{path}:1: the header {header!r} names no '
                    + ('image column' if image is None else 'text column')
                    + f" (one of {' '.join(PATH_COLUMNS)} and one of "
                    f"{' '.join(TEXT_COLUMNS)}; optional: gflops, confidence)")
            gflops, conf = _column(header, ('gflops', )), _column(header, ('confidence', ))
            rows = []
            for row in reader:
                where = f'{path}:{reader.line_num}'
                if not (row.get(image) or '').strip():
                    if any((v or '').strip() for v in row.values() if isinstance(v, str)):
                        raise ReadingsError(f'{where}: no image path')
                    continue  # a blank line
                rows.append(dict(
                    path=row[image].strip(), text=(row.get(text) or '').strip(), where=where,
                    gflops=_number(row.get(gflops), where, 'gflops') if gflops else None,
                    confidence=_number(row.get(conf), where, 'confidence') if conf else None))
    except (OSError, UnicodeDecodeError) as err:
        raise ReadingsError(f'cannot read {path}: {getattr(err, "strerror", None) or err}') \
            from err
    except csv.Error as err:
        raise ReadingsError(f'{path}: not CSV ({err})') from err
    return rows


def label_file_folder(records: Sequence[dict]) -> Optional[str]:
    """The folder of the one label file the reference's records come from
    (their ``annotation``, ``file:line``), which its relative paths start
    from; None where they name none or several."""
    files = label_files(records)
    return osp.dirname(files.pop()) if len(files) == 1 else None


def label_files(records: Sequence[dict]) -> set:
    """The label files records come from (their ``annotation``, ``file:line``)."""
    return {str(r['annotation']).rsplit(':', 1)[0] for r in records if r.get('annotation')}


def score_predictions(rows: Sequence[dict], reference: Sequence[dict], source: str,
                      root: Optional[str] = None, gflops: Optional[float] = None,
                      flops_per_mac: int = 1, allow_extra: bool = False) -> dict:
    """Records in ``tools/infer.py --out``'s format, one per image of
    ``reference`` in its order, from the CSV ``rows`` of
    :func:`read_predictions` (``source`` names the CSV in messages).

    A relative CSV path is taken from ``root`` (default: the folder of the
    reference's label file, as its own lines are, else the current one).
    ``gflops``: the cost of every reading where the CSV has no ``gflops``
    column; ``flops_per_mac=2`` for figures counting a multiply-add as two
    flops (halved: DLD counts one). Returns ``records``, ``missing`` (how
    many reference images the CSV lacks), ``extra`` (CSV rows of no
    reference image, only with ``allow_extra``) and ``root``.
    """
    if flops_per_mac not in (1, 2):
        raise ValueError(f'flops_per_mac is 1 or 2, got {flops_per_mac!r}')
    root = root or label_file_folder(reference) or '.'
    index: Dict[str, int] = {}
    for i, rec in enumerate(reference):
        path = rec.get('path')
        if path is not None:
            index.setdefault(osp.realpath(path), i)
    found: Dict[int, dict] = {}
    extra = []
    for row in rows:
        key = osp.realpath(row['path'] if osp.isabs(row['path'])
                           else osp.join(root, row['path']))
        i = index.get(key)
        if i is None:
            extra.append(row)
        elif i in found:
            raise ReadingsError(f"{row['where']}: {row['path']} has a prediction already, at "
                                f"{found[i]['where']}: one row an image")
        else:
            found[i] = row
    if extra and not allow_extra:
        raise ReadingsError(
            f"{source}: {len(extra)} of its {len(rows)} row(s) name no image of the reference "
            f"readings (first {extra[0]['where']}: {extra[0]['path']}, looked for as "
            f"{osp.join(root, extra[0]['path'])}): give the folder its relative paths start "
            'from (--root), or read the same test set for the reference')
    records = []
    for i, ref in enumerate(reference):
        rec = {k: ref.get(k) for k in ('input', 'path', 'track_id', 'frame_idx', 'gt_text',
                                       'annotation', 'gflops_teacher')}
        case_sensitive = bool(ref.get('case_sensitive', False))
        row = found.get(i)
        if row is None:
            rec.update(text=None, confidence=None, scale=None, gflops=None,
                       error=f'no prediction in {source}', error_type=MISSING)
        else:
            cost = row['gflops'] if row['gflops'] is not None else gflops
            rec.update(text=row['text'], confidence=row['confidence'], scale=None,
                       gflops=None if cost is None else cost / flops_per_mac,
                       error=None, error_type=None, prediction=row['where'])
        if rec['gflops'] is None or rec['gflops_teacher'] is None:
            rec['gflops_saved'] = None
        else:
            rec['gflops_saved'] = rec['gflops_teacher'] - rec['gflops']
        if is_labelled(rec):
            rec['read_right'] = rec['text'] is not None and plate_read_right(
                rec['text'], rec['gt_text'], case_sensitive)
            rec['case_sensitive'] = case_sensitive
        records.append(rec)
    return dict(records=records, missing=len(reference) - len(found), extra=len(extra),
                root=root)


def summary_scores(records: Sequence[dict]) -> dict:
    """Plate and character accuracy, 1-NED (as the plate metric counts:
    a missing prediction is the empty reading) and track accuracy (the
    frames' vote, as ``tools/infer.py --track`` votes) of labelled records,
    and their mean GFLOPs (of the images predicted)."""
    from dld.evaluation.metrics.plate_recog_metric import plate_scores
    from dld.utils.char_names import upper_each

    from .plate_recognizer import vote_tracks
    labelled = [r for r in records if is_labelled(r)]
    if not labelled:
        raise ReadingsError('no labelled image: nothing to score')
    cs = judged_case_sensitively(labelled)  # as analyze_readings judges them
    norm = str if cs else upper_each
    scores = plate_scores([(norm(r['gt_text']), norm(r.get('text') or '')) for r in labelled])
    tracks = vote_tracks([dict(r, confidence=r.get('confidence') or 0.0) for r in labelled],
                         case_sensitive=cs) if all(r.get('track_id') for r in labelled) else []
    voted = [t for t in tracks if 'read_right' in t]
    costs = [r['gflops'] for r in records if r.get('error') is None and r.get('gflops') is not None]
    return dict(accuracy=scores['accuracy'], char_accuracy=scores['char_accuracy'],
                one_minus_ned=scores['one_minus_ned'], num_images=len(labelled),
                track_accuracy=(sum(t['read_right'] for t in voted) / len(voted)
                                if voted else None),
                gflops=sum(costs) / len(costs) if costs else None,
                failed=sum(r.get('error') is not None for r in labelled))


def parse_point(text: str) -> dict:
    """``NAME:ACC:GFLOPS`` (accuracy in %, GFLOPs per image as DLD counts
    them: one multiply-add one flop; either may be ``-``): a figure given,
    not measured, e.g. from a paper. A ``ValueError`` saying what is wrong."""
    name, sep, rest = text.rpartition(':')
    name, sep2, acc = name.rpartition(':')
    if not (sep and sep2 and name.strip()):
        raise ValueError(f'{text!r}: give NAME:ACC:GFLOPS, e.g. "CRNN (paper):93.1:0.41"')
    values = []
    for what, value, top in (('ACC', acc, 100.0), ('GFLOPS', rest, math.inf)):
        if value.strip() == '-':
            values.append(None)
            continue
        try:
            x = float(value)
        except ValueError:
            raise ValueError(f'{text!r}: {what} {value!r} is not a number') from None
        if not (math.isfinite(x) and 0 <= x <= top):
            raise ValueError(f'{text!r}: {what} {value} is out of range'
                             + (' (a percentage, 0-100)' if what == 'ACC' else ''))
        values.append(x)
    if values == [None, None]:
        raise ValueError(f'{text!r}: neither an accuracy nor GFLOPs')
    return dict(name=name.strip(),
                accuracy=None if values[0] is None else round(values[0] / 100, 12),
                gflops=values[1])


def _external_row(name: str, scores: dict, teacher_gflops: Optional[float]) -> dict:
    gflops = scores.get('gflops')
    return dict(method=f'external:{name}', name=f'{name} (external)', scale=None,
                accuracy=scores.get('accuracy'), char_accuracy=scores.get('char_accuracy'),
                one_minus_ned=scores.get('one_minus_ned'),
                track_accuracy=scores.get('track_accuracy'), gflops=gflops,
                gflops_saved_pct=(100.0 * (1.0 - gflops / teacher_gflops)
                                  if gflops is not None and teacher_gflops else None),
                params=None, images_per_s=None, num_images=scores.get('num_images'),
                external=scores.get('external'))


def scored_readings(readings: Sequence[str], inputs: dict,
                    num_images: int) -> List[Tuple[str, dict]]:
    """``(name, scores)`` of each ``NAME=FILE`` of ``readings``, scored by
    :func:`summary_scores`, checked against a report's test set (its
    ``inputs``' label file and its ``num_images``): a ``ValueError`` for one
    of another test set or count. Called before a report's evaluation too,
    so a wrong file is said before minutes of reading, not after them."""
    from .reading_analysis import load_records
    ann = inputs.get('test_ann_file')
    label_file = (osp.realpath(osp.join(inputs.get('test_data_root') or '', ann))
                  if ann else None)
    out = []
    for text in readings:
        name, sep, path = text.partition('=')
        if not (sep and name.strip() and path):
            raise ValueError(f'{text!r}: give NAME=READINGS.jsonl')
        records = load_records(path)
        files = {osp.realpath(f) for f in label_files(records)}
        if label_file and files and files != {label_file}:
            raise ValueError(f'{path} reads {", ".join(sorted(files))}, the report '
                             f'{label_file}: score predictions of the same test set')
        scores = summary_scores(records)
        if scores['num_images'] != num_images:
            raise ValueError(f"{path} holds {scores['num_images']} labelled image(s), the "
                             f"report {num_images}: score predictions of the same "
                             'test set (a --max-batches report reads fewer)')
        scores['external'] = (f'scored from {path}' + (
            f", {scores['failed']} image(s) without a prediction counted wrong"
            if scores['failed'] else ''))
        out.append((name.strip(), scores))
    return out


def add_external_rows(report: dict, points: Sequence[str] = (),
                      readings: Sequence[str] = ()) -> None:
    """Add to a FLOPs / accuracy report one row per method that is not a
    DLD model: ``points`` of :func:`parse_point` (figures given), and
    ``readings`` ``NAME=FILE`` (records of ``tools/analysis/score_predictions.py``
    or ``tools/infer.py``, scored here over the report's test set: the file
    must hold the same labelled images, from its label file). Each row is
    named ``NAME (external)`` and its method ``external:NAME``; a note says
    where each figure comes from. A ``ValueError`` for a bad one."""
    teacher = report.get('teacher_gflops')
    names = {r['name'] for r in report['methods']}
    new = []
    for text in points:
        point = parse_point(text)
        new.append(_external_row(point['name'], dict(
            accuracy=point['accuracy'], gflops=point['gflops'],
            external=f'given: {text}'), teacher))
    for name, scores in scored_readings(readings, report.get('inputs') or {},
                                        report['num_images']):
        new.append(_external_row(name, scores, teacher))
    for row in new:
        if row['name'] in names:
            raise ValueError(f"two rows named {row['name']!r}: give each its own name")
        names.add(row['name'])
    report['methods'].extend(new)
    if new:
        report.setdefault('notes', []).append(
            'External rows (not DLD models, not run by this report): ' + '; '.join(
                f"{r['name']}: {r['external']}" for r in new)
            + '. Their GFLOPs are as given (one multiply-add one flop, as DLD counts); '
            'a paper\'s figures may be of another test set.')
