"""What the readings of tools/infer.py say: accuracy, mistakes, confidence; runs or days compared.

    python tools/analysis/analyze_readings.py READINGS.jsonl [OTHER.jsonl]
        [--compare OTHER.jsonl] [--labels LABELLED.jsonl] [--tracks FILE] [--top N]
        [--target-accuracy 99]
        [--case-sensitive] [--json FILE] [--suspects-csv FILE] [--vis-list FILE]
        [--crop-stats] [--sheet PNG]
    python tools/analysis/analyze_readings.py --drift REFERENCE.jsonl DAY.jsonl [DAY.jsonl ...]
        [--low-confidence T] [--fail-if 'gflops>20' ...] [--crop-stats] [--json FILE]

READINGS.jsonl is what ``tools/infer.py --out`` writes, one record per image
(or the ONNX reader's ``--json`` lines, ``dld/deploy/onnx_reader.py``, which
carry no labels: ``--labels`` gives them those of infer.py's readings of the
same images, read from the label file).
Printed, as markdown tables: the summary (images, labelled, read right,
failed, mean GFLOPs against the teacher); the accuracy per chosen scale (with
the median size of the crops sent there, and with ``--crop-stats`` their
median sharpness and brightness, each image read again for it; ``--sheet``
draws a few crops of each scale, framed green where read right, red where
not) and per plate layout of the label (with the misreads a layout rule could catch); the
misread images, most confident first; the likely label errors (the tracks no
frame read right, those whose frames agree most, most confidently, first,
each with its label file's ``file:line``; ``--suspects-csv`` writes them as
CSV); the character confusions (label
character -> read character, insertions and deletions too) and the errors
per position; confidence as a reject rule (kept share and accuracy per
threshold, the lowest one reaching ``--target-accuracy``, the expected
calibration error, the AUROC of right against wrong); and, when the track
votes are found (``READINGS.tracks.jsonl``, or ``--tracks``), the track
accuracy and the tracks whose vote is wrong although a frame read the label.

With a second file (of the same labelled images, e.g. another checkpoint or
``--scale``, or an int8 export's readings against its float one's): both
summaries, how many images both, only one, or neither read right, the exact
McNemar p-value (and, where the images come in tracks, the difference's
interval from a bootstrap over tracks), the images only one reads, and,
labelled or not, on how many images the two read another text, keep another
scale or the selector chose another one (``scale_probs``).

With ``--drift`` (two files or more of different images, labelled or not: a
camera's days): what the readings look like, each file against the first,
unpaired (dld/apis/reading_drift.py): mean confidence (and a Mann-Whitney
test), the share below a low confidence (``--low-confidence``, default the
first file's 10th percentile), mean GFLOPs per image (relative), the share
of each chosen scale (and a chi-square test), the failed and truncated
shares, the crops' mean height and, with ``--crop-stats``, sharpness and
brightness; each change with a 95 % bootstrap interval. ``--fail-if
confidence<-0.05 gflops>20 ...`` exits 1 where a file's change is beyond
chance and past the limit (for a cron job).

An image that failed to read counts as not read right; an unlabelled one is
counted and left out of the accuracies. Records older than infer.py's
``read_right`` key get it computed, case-insensitively unless
``--case-sensitive``; the character confusions compare case too where the
records were scored so (a reading differing in case alone marked wrong, as
a case-sensitive word config scores it). ``--vis-list`` writes the misread images' paths (with
two files: those only one reads), one a line, to look at them again:

    xargs -d '\\n' python tools/infer.py CONFIG CKPT --vis vis/ < misread.lst

Exit status: 0; 1 when a ``--fail-if`` rule is broken; 2 when a file cannot be
read or analysed (the error names
the file and line) or an output cannot be written.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import os.path as osp
import sys

DEFAULT_TOP = 20
#: --drift's default low confidence: the reference's percentile (reading_drift)
LOW_PERCENTILE = 10
#: Fewer kept images than this make a threshold's accuracy a guess.
FEW_KEPT = 30


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('readings', nargs='+', metavar='READINGS',
                        help='one or two .jsonl files of tools/infer.py --out (with --drift, '
                        'two or more: the reference first)')
    parser.add_argument('--compare', metavar='OTHER',
                        help='compare with these readings of the same images')
    parser.add_argument('--labels', metavar='LABELLED',
                        help="label the readings (the ONNX reader's, which have none) as "
                        'these readings of the same images are (tools/infer.py LABEL_FILE '
                        '--out), paired by path')
    parser.add_argument('--tracks', metavar='FILE',
                        help='track votes of the (first) readings (default: its '
                        '.tracks.jsonl, where there is one)')
    parser.add_argument('--top', type=int, default=DEFAULT_TOP, metavar='N',
                        help=f'print at most N rows of each list (default {DEFAULT_TOP}; '
                        '--json holds them all)')
    parser.add_argument('--target-accuracy', type=float, default=99.0, metavar='PERCENT',
                        help='find the lowest confidence threshold whose kept readings are '
                        'this accurate (default 99)')
    parser.add_argument('--case-sensitive', action='store_true',
                        help='compare case where a record lacks read_right (older infer.py '
                        'output), and in the character confusions (which compare case '
                        'anyway where a reading differing in case alone is marked wrong: '
                        'a case-sensitive config scored them)')
    parser.add_argument('--json', metavar='FILE', help='also write every figure as JSON')
    parser.add_argument('--suspects-csv', metavar='FILE',
                        help='write the likely label errors (the tracks no frame read right, '
                        'likeliest first) as CSV: where (file:line), track_id, label, read, '
                        'votes, num_read, num_frames, confidence, score, edits, paths')
    parser.add_argument('--crop-stats', action='store_true',
                        help="read each record's image again for the per-scale table's "
                        'median sharpness and brightness (as compare_degradation.py measures '
                        'them): does the selector send blurred or dark crops to larger '
                        'scales?')
    parser.add_argument('--sheet', metavar='PNG',
                        help='draw a contact sheet: a row of up to 12 crops per chosen scale '
                        '(evenly spread over its images), framed green where read right, red '
                        'where not, grey where unlabelled')
    parser.add_argument('--vis-list', metavar='FILE',
                        help='write the paths of the misread images (two files: of those '
                        'only one reads right), one a line, for infer.py --vis')
    parser.add_argument('--drift', action='store_true',
                        help='the files read different images (a camera\'s days, labelled or '
                        'not): compare what their readings look like, each against the first '
                        '(mean confidence, low-confidence share, mean GFLOPs, chosen-scale '
                        'shares, failed and truncated shares, crop height; with --crop-stats '
                        'sharpness and brightness), with 95 %% intervals; two files or more')
    parser.add_argument('--low-confidence', type=float, metavar='T',
                        help='with --drift: a reading below T is low-confidence (default: the '
                        f'first file\'s {LOW_PERCENTILE}th percentile of confidence)')
    parser.add_argument('--fail-if', nargs='+', action='extend', metavar='RULE', default=[],
                        help='with --drift: exit status 1 where a later file\'s change is beyond '
                        'chance and past the limit, each rule quoted (the shell redirects at > '
                        "and <): 'gflops>20' (%% up), 'confidence<-0.05', 'low_confidence>10' "
                        "(points up), 'scale:1>15', 'failed>2', 'sharpness<-0.3' (with "
                        '--crop-stats); after the files, or repeated: --fail-if A --fail-if B')
    args = parser.parse_args(argv)
    if args.compare:
        args.readings.append(args.compare)
    if args.drift:
        if len(args.readings) < 2:
            parser.error('--drift compares two files or more, the reference first')
        from dld.apis.reading_drift import parse_rule
        try:
            args.fail_if = [parse_rule(r) for r in args.fail_if]
        except ValueError as err:
            parser.error(f'--fail-if {err}')
        if args.low_confidence is not None and not 0 <= args.low_confidence <= 1:
            parser.error(f'--low-confidence is a confidence in [0, 1], got '
                         f'{args.low_confidence:g}')
    elif args.fail_if or args.low_confidence is not None:
        parser.error('--fail-if and --low-confidence go with --drift (files of different '
                     'images compared unpaired)')
    elif len(args.readings) > 2:
        parser.error('give one file of readings, or two to compare (two READINGS, or one '
                     'and --compare; --drift for two or more files of different images)')
    if args.top < 1:
        parser.error(f'--top must be >= 1, got {args.top}')
    if not 1 < args.target_accuracy <= 100:
        parser.error(f'--target-accuracy is a percentage in (1, 100] (99 for 99 %), got '
                     f'{args.target_accuracy:g}')
    # an output named as an input replaced the readings it was made from
    # (the track votes read beside a READINGS file, ``x.tracks.jsonl``, too)
    from dld.apis.plate_recognizer import tracks_path
    # as main() reads them: --tracks for the first
    inputs = list(args.readings) + ([args.labels] if args.labels else []) + [
        args.tracks if i == 0 and args.tracks else tracks_path(r)
        for i, r in enumerate(args.readings)]
    for flag, out in (('--json', args.json), ('--vis-list', args.vis_list),
                      ('--suspects-csv', args.suspects_csv), ('--sheet', args.sheet)):
        same = [i for i in inputs if out and osp.realpath(i) == osp.realpath(out)]
        if same:
            parser.error(f'{flag} {out} is an input ({same[0]}): it would replace it; give '
                         'another file')
    outputs = [(f, o) for f, o in (('--json', args.json), ('--vis-list', args.vis_list),
                                   ('--suspects-csv', args.suspects_csv),
                                   ('--sheet', args.sheet)) if o]
    for i, (flag, out) in enumerate(outputs):
        for other, out2 in outputs[i + 1:]:
            if osp.realpath(out) == osp.realpath(out2):
                parser.error(f'{flag} and {other} name one file ({out}); give two')
    return args


# -- formatting ---------------------------------------------------------------

def _pct(x) -> str:
    return '-' if x is None else f'{100 * x:.1f} %'


def _num(x, digits: int = 3) -> str:
    return '-' if x is None else f'{x:.{digits}f}'


def _scale(s) -> str:
    return 'failed' if s is None else f'{s:g}'


def _path(p) -> str:
    """A path under the current folder shown relative to it (the JSON keeps it whole)."""
    if p is None:
        return '-'
    rel = osp.relpath(p) if osp.isabs(p) else p
    return p if rel.startswith('..') else rel


def _table(rows, headers) -> str:
    from tabulate import tabulate
    return tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True)


def _limited(rows: list, top: int, what: str) -> tuple:
    more = len(rows) - top
    return rows[:top], (f'... and {more} more {what} (--top {top}; --json lists them all)'
                        if more > 0 else '')


def _summary_rows(report: dict) -> list:
    s = report['summary']
    rows = [('images', str(s['images'])),
            ('labelled', f"{s['labelled']}" + (f" ({s['unlabelled']} unlabelled, not in the "
                                                'accuracy)' if s['unlabelled'] else '')),
            ('read right', f"{s['read_right']}/{s['labelled']} ({_pct(s['accuracy'])})"
             if s['labelled'] else '- (no labelled images)'),
            ('95 % interval', f"{_pct(s['accuracy_low'])} - {_pct(s['accuracy_high'])} (the "
             'frames of a track counted as alike as they read)'
             if s.get('accuracy_low') is not None else '-'),
            ('failed to read', f"{s['failed']}" + (f" ({s['failed_labelled']} labelled)"
                                                   if s['failed_labelled'] else '')),
            ('mean GFLOPs', '-' if s['mean_gflops'] is None else
             f"{s['mean_gflops']:.4f}" if s['gflops_teacher'] is None else
             f"{s['mean_gflops']:.4f} (teacher {s['gflops_teacher']:.4f}: "
             f"{_saved(s['saved'])})")]
    t = report.get('tracks')
    if t is not None:
        rows.append(('tracks read right', f"{t['read_right']}/{t['labelled']} "
                     f"({_pct(t['accuracy'])})" if t['labelled'] else
                     f"- ({t['tracks']} tracks, none labelled)"))
    return rows


def _saved(saved) -> str:
    if saved is None:
        return '-'
    if round(100 * saved, 1) == 0:
        return 'as much'
    return f'{100 * saved:.1f} % saved' if saved > 0 else f'{-100 * saved:.1f} % more'


def render(report: dict, name: str, top: int) -> str:
    """The markdown of one file's analysis."""
    s = report['summary']
    out = [f'# Readings of {name}', '', '## Summary', '',
           _table(_summary_rows(report), ['', '']), '']
    out += [f'* {n}' for n in report['notes']] + ([''] if report['notes'] else [])
    if not s['images']:
        out.append(f'{name} holds no records.\n')
        return '\n'.join(out)

    out += ['## Accuracy per chosen scale', '']
    out += _render_scales(report['scales'])

    if report['layouts']:
        out += ['## Accuracy per plate layout (of the label)', '']
        out.append(_table([(r['layout'], r['labelled'], _pct(r['accuracy']), r['failed'],
                            r['misreads'], r['misreads_fitting_no_layout'])
                           for r in report['layouts']],
                          ['layout', 'labelled', 'accuracy', 'not read', 'misreads',
                           'of them fitting no layout']))
        out += ['', 'A misread fitting no layout is one a layout rule could catch '
                '(`tools/infer.py --layouts`); the others read a valid plate.', '']

    out += [f"## Misread images ({len(report['misreads'])}, most confident first)", '']
    if not s['labelled']:
        out.append('No labelled images: give infer.py a label file or track folders to '
                   'know which readings are right.')
    elif not report['misreads']:
        out.append('None: every labelled image read was read right.')
    else:
        rows, more = _limited(report['misreads'], top, 'misread images')
        out.append(_table([(_path(r['path'] or r['input']), r['gt_text'], r['text'],
                            _scale(r['scale']), _num(r['confidence'])) for r in rows],
                          ['path', 'label', 'read', 'scale', 'confidence']))
        out += [more] if more else []
    out.append('')

    if s['labelled']:
        out += _render_suspects(report['label_suspects'], top)

    if report['failures']:
        out += [f"## Failed to read ({len(report['failures'])})", '']
        rows, more = _limited(report['failures'], top, 'failures')
        out.append(_table([(_path(r['input']), r.get('gt_text') or '-',
                            r.get('error_type') or '-', r['error']) for r in rows],
                          ['input', 'label', 'error type', 'error']))
        out += [more, ''] if more else ['']

    out += _render_characters(report['characters'], s, top)
    out += _render_confidence(report)
    if report.get('tracks') is not None:
        out += _render_tracks(report['tracks'], top)
    return '\n'.join(out).rstrip() + '\n'


def _render_scales(rows: list) -> list:
    """The per-scale table; the crops' median size, sharpness and
    brightness where the records say them."""
    from dld.apis.reading_analysis import CROP_FIGURES
    sized = any(r.get('median_height') is not None for r in rows)
    figures = [k for k in CROP_FIGURES if any(r.get(f'median_{k}') is not None for r in rows)]
    table = _table([(_scale(r['scale']), r['count'], _pct(r['share']), r['labelled'],
                     _pct(r['accuracy']), _num(r['mean_confidence']))
                    + ((f"{r['median_height']:g}x{r['median_width']:g}"
                        if r['median_height'] is not None else '-', ) if sized else ())
                    + tuple(_num(r[f'median_{k}'], 2 if k == 'sharpness' else 1)
                            for k in figures) for r in rows],
                   ['scale', 'images', 'share', 'labelled', 'accuracy', 'mean confidence']
                   + (['median size (HxW)'] if sized else [])
                   + [f'median {k}' for k in figures])
    out = [table, '']
    if sized or figures:
        out += ['The crops sent to each scale as given (`image_size`)'
                + (', their sharpness (mean |Laplacian| over mean |d/dx|, higher is '
                   'sharper) and brightness (mean grey, 0-255), as '
                   '`tools/analysis/compare_degradation.py` measures them'
                   if figures else '') + ': a selector that judges by its thumbnail sends '
                'the smaller, blurrier, darker crops to the larger scales.', '']
    return out


def add_crop_stats(records: list) -> tuple:
    """Each record whose image file is there gets ``crop_stats`` (its
    sharpness and brightness, read again); returns how many got them, and
    the first image that could not be read (None where every one could)."""
    from dld.apis.reading_analysis import CROP_FIGURES, is_failed
    from dld.datasets.errors import ImageLoadError
    from dld.datasets.transforms.loading import read_plate_image
    from dld.utils.crop_stats import image_stats
    done, missing = 0, None
    for rec in records:
        path = rec.get('path')
        if is_failed(rec) or not isinstance(path, str):
            continue
        try:
            img = read_plate_image(path)
        except (ImageLoadError, OSError):
            missing = missing or path
            continue
        stats = image_stats(img)
        rec['crop_stats'] = {k: stats[k] for k in CROP_FIGURES}
        done += 1
    return done, missing


#: The frames of a contact sheet's crops: read right, misread, unlabelled (BGR).
SHEET_COLOURS = dict(right=(0, 160, 0), wrong=(0, 0, 220), unlabelled=(160, 160, 160))


def scale_sheet(records: list, per_row: int = 12):
    """A contact sheet of up to ``per_row`` crops per chosen scale (largest
    first), each framed by :data:`SHEET_COLOURS`; None where no image of a
    read record can be read."""
    from dld.apis.reading_analysis import is_failed, is_labelled
    from dld.datasets.errors import ImageLoadError
    from dld.datasets.transforms.loading import read_plate_image
    from dld.utils.crop_stats import contact_sheet, spread
    groups: dict = {}
    for rec in records:
        if not is_failed(rec) and isinstance(rec.get('path'), str):
            groups.setdefault(rec['scale'], []).append(rec)
    sets, marks = {}, {}
    for scale in sorted(groups, reverse=True):
        recs = groups[scale]
        labelled = [r for r in recs if is_labelled(r)]
        right = sum(bool(r.get('read_right')) for r in labelled)
        name = f'scale {scale:g}: {len(recs)} images' + (
            f', {right}/{len(labelled)} right' if labelled else '')
        images, colours = [], []
        for rec in spread(recs, per_row):
            try:
                images.append(read_plate_image(rec['path']))
            except (ImageLoadError, OSError):
                continue
            colours.append(SHEET_COLOURS['unlabelled' if not is_labelled(rec) else
                                         'right' if rec.get('read_right') else 'wrong'])
        if images:
            sets[name], marks[name] = images, colours
    return contact_sheet(sets, per_row=per_row, marks=marks) if sets else None


def _render_suspects(rows: list, top: int) -> list:
    """The tracks no frame read right, likeliest label error first."""
    if not rows:
        return ['## Likely label errors (0)', '',
                'None: every labelled track had a frame read right.', '']
    out = [f'## Likely label errors ({len(rows)} track(s) no frame read right, the frames '
           'agreeing most and most confident first)', '']
    shown, more = _limited(rows, top, 'tracks')
    out.append(_table([(_path(r['where']), r['gt'], r['text'], f"{r['votes']}/{r['num_read']}",
                        _num(r['confidence']), r['edits']) for r in shown],
                      ['where', 'label', 'read', 'frames agreeing', 'confidence', 'edits']))
    out += [more] if more else []
    out += ['', 'A label the model reads otherwise in every frame, confidently, is more '
            'often wrong than the model: look at these first (`--suspects-csv` lists them '
            'with their frames; `--vis-list` and `infer.py --vis` draw them).', '']
    return out


def _char_cell(text: str) -> str:
    """A confusion's character as a table shows it: a space (a deleted or
    inserted one) quoted, where it was an empty-looking cell."""
    if not text:
        return '(none)'
    return repr(text) if not text.strip() or not text.isprintable() else text


def _render_characters(c: dict, s: dict, top: int) -> list:
    out = ['## Character errors', '']
    if not c['misreads']:
        out += ['No misread images, no character errors.' if s['labelled'] else
                'No labelled images.', '']
        return out
    dist = ', '.join(f'{k} edit(s): {v}' for k, v in c['edit_distances'].items())
    out += [f"Misreads by their number of edits: {dist}.", '']
    rows, more = _limited(c['confusions'], top, 'confusions')
    out.append(_table([(_char_cell(r['gt']), _char_cell(r['read']), r['kind'], r['count'])
                       for r in rows], ['label', 'read', 'kind', 'count']))
    out += [more] if more else []
    out += ['', 'Errors per label position (an insertion counts at the label character it '
            'precedes; images: the misread images with an edit there; rate: those images '
            'over the read labelled images whose label has that position):', '']
    out.append(_table([(r['position'], r['substitutions'], r['deletions'], r['insertions'],
                        r['errors'], r['images'], _pct(r['rate'])) for r in c['positions']],
                      ['position', 'substitutions', 'deletions', 'insertions', 'errors',
                       'images', 'rate']))
    return out + ['']


def _render_confidence(report: dict) -> list:
    out = ['## Confidence as a reject rule', '']
    rc = report['risk_coverage']
    if not rc['labelled']:
        return out + ['No labelled images.', '']
    target = rc['target']
    rows = [r for r in rc['rows']]
    if target is not None and all(r['threshold'] != target['threshold'] for r in rows):
        rows = sorted(rows + [target], key=lambda r: r['threshold'])
    mark = target['threshold'] if target is not None else None
    out.append(_table([(('all' if r['threshold'] == 0 else f"{r['threshold']:.4g}")
                        + (' (target)' if r['threshold'] == mark else ''),
                        r['kept'], _pct(r['coverage']), _pct(r['accuracy'])) for r in rows],
                      ['keep confidence >=', 'kept', 'coverage', 'accuracy of kept']))
    out.append('')
    want = _pct(rc['target_accuracy'])
    if target is None:
        out.append(f'No threshold reaches {want}: even the most confident readings are '
                   'wrong too often.')
    else:
        out.append(f"To reach {want}: keep confidence >= {target['threshold']:.4g}, which "
                   f"keeps {_pct(target['coverage'])} of the labelled images at "
                   f"{_pct(target['accuracy'])}.")
        if target['kept'] < FEW_KEPT:
            out.append(f"Judged on the {target['kept']} image(s) kept only: too few to rely "
                       'on; read more labelled images, or aim lower.')
    cal = report['calibration']
    if cal is not None:
        out += ['', f"Calibration ({cal['images']} labelled images read, {len(cal['bins'])} "
                f"equal-width bins): ECE {cal['ece']:.3f}; {cal['verdict']}: mean confidence "
                f"{cal['mean_confidence']:.3f} against {cal['accuracy']:.3f} read right.", '']
        out.append(_table([(f"{b['low']:.1f}-{b['high']:.1f}", b['count'],
                            _num(b['mean_confidence']), _pct(b['accuracy']))
                           for b in cal['bins'] if b['count']],
                          ['confidence', 'images', 'mean confidence', 'accuracy']))
    auc = report['auroc']
    out += ['', 'AUROC of confidence, right against wrong readings: '
            + (f'{auc:.3f}' if auc is not None else
               '- (it needs both right and wrong readings)'), '']
    return out


def _render_tracks(t: dict, top: int) -> list:
    out = ['## Tracks', '']
    if not t['labelled']:
        return out + [f"{t['tracks']} track(s), none labelled.", '']
    gap = (f" Confidence gap {t['confidence_gap']:.3f} (right {t['confidence_right']:.3f}, "
           f"wrong {t['confidence_wrong']:.3f})." if 'confidence_gap' in t else '')
    out.append(f"{t['read_right']}/{t['labelled']} labelled tracks read right by their vote "
               f"({_pct(t['accuracy'])}).{gap} {len(t['wrong_but_read'])} voted wrong "
               'although a frame read the label' + (':' if t['wrong_but_read'] else '.'))
    if t['wrong_but_read']:
        rows, more = _limited(t['wrong_but_read'], top, 'tracks')
        out += ['', _table([(r['track_id'], r['gt'], r['text'] or '-',
                             f"{r['votes']}/{r['num_frames']}",
                             f"{r['frames_right']}/{r['num_frames']}", _num(r['confidence']))
                            for r in rows],
                           ['track', 'label', 'vote', 'votes', 'frames right', 'confidence'])]
        out += [more] if more else []
    return out + ['']


def _render_agreement(ag: dict, top: int) -> list:
    """Whether A and B read the images alike: texts, kept scales, the
    selector's choices."""
    out = ['## Read alike?', '']
    rows = [('texts differ', f"{ag['texts_differ']} of {ag['read']} images both read"),
            ('kept scales differ', f"{ag['scales_differ']} of {ag['read']}"),
            ("selector's choices differ", f"{ag['choices_differ']} of {ag['chosen']}"
             + (f" (largest difference of a scale's probability "
                f"{ag['max_prob_difference']:.2g})" if ag['max_prob_difference'] is not None
                else '') if ag['chosen'] else '- (no scale_probs in both: forced scales?)')]
    if ag['failed_differ']:
        rows.append(('read by one only', f"{ag['failed_differ']} (the other failed)"))
    out += [_table(rows, [f"{ag['images']} images", '']), '']
    if ag['differing']:
        shown, more = _limited(ag['differing'], top, 'images')
        out.append(_table([(_path(r['path']), r['gt'] or '-', r['text_a'], _scale(r['scale_a']),
                            r['text_b'], _scale(r['scale_b'])) for r in shown],
                          ['path', 'label', 'A read', 'A scale', 'B read', 'B scale']))
        out += [more, ''] if more else ['']
    return out


def render_comparison(reports: dict, cmp: dict, top: int) -> str:
    a, b = cmp['file_a'], cmp['file_b']
    rows_a, rows_b = dict(_summary_rows(reports[a])), dict(_summary_rows(reports[b]))
    rows = [(k, rows_a.get(k, '-'), rows_b.get(k, '-')) for k in {**rows_a, **rows_b}]
    out = [f'# Readings of A: {a} and B: {b}', '', '## Summary', '',
           _table(rows, ['', 'A', 'B']), '']
    notes = [f'* {tag}: {n}' for tag, name in (('A', a), ('B', b))
             for n in reports[name]['notes']]
    out += notes + ([''] if notes else [])
    out += _render_agreement(cmp['agreement'], top)
    out += ['## A against B', '']
    if not cmp['labelled']:
        return '\n'.join(out + ['No labelled images: no accuracies to compare (--labels: '
                                'those of infer.py\'s readings of the same label file).']) + '\n'
    out.append(_table([('both read right', cmp['both']), ('only A', cmp['only_a']),
                       ('only B', cmp['only_b']), ('neither', cmp['neither'])],
                      [f"{cmp['labelled']} labelled images", '']))
    out += ['', f"Accuracy: A {_pct(cmp['accuracy_a'])}, B {_pct(cmp['accuracy_b'])}. "
            f"McNemar (exact, two-sided, on the {cmp['only_a'] + cmp['only_b']} images only one "
            f"reads right): p = {cmp['p_value']:.3g}."]
    by_track = cmp.get('by_track')
    if by_track:  # the frames of one plate are no independent samples
        out[-1] += (f" A - B: {100 * by_track['difference']:+.2f} pt, 95 % interval "
                    f"[{100 * by_track['low']:+.2f}, {100 * by_track['high']:+.2f}] pt from a "
                    f"bootstrap over the {by_track['groups']} tracks; McNemar counts the "
                    'frames of a track as independent, so its p is too small here: quote '
                    'the interval.')
    out += ['']
    for key, who, wrong in (('only_a_reads', 'A', 'B'), ('only_b_reads', 'B', 'A')):
        found = cmp[key]
        out += [f'## Only {who} reads ({len(found)}, most confident mistake of {wrong} '
                'first)', '']
        if not found:
            out += ['None.', '']
            continue
        rows, more = _limited(found, top, 'images')
        out.append(_table([(_path(r['path']), r['gt'], r['text_a'] or '-',
                            _num(r['confidence_a']), r['text_b'] or '-',
                            _num(r['confidence_b'])) for r in rows],
                          ['path', 'label', 'A read', 'A confidence', 'B read',
                           'B confidence']))
        out += [more, ''] if more else ['']
    return '\n'.join(out).rstrip() + '\n'


def _change(c: dict) -> str:
    """A change and its interval in its unit; an arrow where it is beyond chance."""
    k = 1 if c['unit'] == 'abs' else 100
    unit = {'abs': '', 'pt': ' pt', 'rel': ' %'}[c['unit']]
    digits = 3 if c['unit'] == 'abs' else 1
    arrow = (' ▲' if c['change'] > 0 else ' ▼') if c['beyond_chance'] else ''
    interval = ('' if c['low'] is None else
                f" [{k * c['low']:+.{digits}f}, {k * c['high']:+.{digits}f}]")
    return f"{k * c['change']:+.{digits}f}{unit}{interval}{arrow}"


def _figure(value, unit: str, name: str) -> str:
    if value is None:
        return '-'
    if unit == 'pt':
        return _pct(value)
    return f'{value:.4f}' if name == 'gflops' else f'{value:.3f}'


def _short_names(paths: list) -> dict:
    """Each file by the fewest trailing path parts that tell them apart
    (``day1.jsonl`` ... , ``cam2/day1.jsonl``), for a table of many."""
    parts = [osp.abspath(p).split(osp.sep) for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = ['/'.join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return dict(zip(paths, names))
    return {p: p for p in paths}


def _p(p: float) -> str:
    return '< 1e-15' if p < 1e-15 else f'= {p:.2g}'


def render_drift(found: dict, broken: list, rules: list) -> str:
    """The markdown of files of different images compared with the first
    (named short in the table; the JSON keeps the names as given)."""
    short = _short_names(list(found['files']))
    ref, names = found['reference'], list(found['files'])
    out = [f'# Drift of the readings against {ref}', '',
           f"Each file's figures, and their change against the reference with a "
           f"{100 * found['level']:g} % interval (a bootstrap of each file, whole tracks where "
           'the records come in tracks); ▲/▼: beyond chance. Shares in points, mean GFLOPs '
           f"relative. Low confidence: below {found['low_confidence']:.4g}"
           ' (--low-confidence).', '']
    headers = ['figure', f"{short[ref]} ({found['images'][ref]})"] + [
        f"{short[n]} ({found['images'][n]})" for n in names[1:]]
    rows = []
    for key, what in found['figures'].items():
        unit = found['units'][key]
        rows.append([f'{key}: {what}', _figure(found['files'][ref][key], unit, key)] + [
            _figure(found['files'][n][key], unit, key)
            + (f" ({_change(found['changes'][n][key])})" if key in found['changes'][n]
               else '') for n in names[1:]])
    out += [_table(rows, headers), '']
    for n in names[1:]:
        mw, chi = found['confidence_test'][n], found['scale_test'][n]
        said = []
        if mw is not None:
            said.append(f"confidence: Mann-Whitney p {_p(mw['p'])}, a reading here more "
                        f"confident than one of the reference {100 * mw['superiority']:.0f} % "
                        'of the time (50 %: no shift)')
        if chi is not None:
            said.append(f"chosen scales: chi-square p {_p(chi['p'])} ({chi['df']} df)")
        moved = [k for k, c in found['changes'][n].items() if c['beyond_chance']]
        said.append('beyond chance: ' + (', '.join(moved) if moved else 'nothing'))
        out.append(f'* {short[n]}: ' + '; '.join(said) + '.')
    out += ['', 'Over many figures and days some move beyond chance by chance (1 in 20 of '
            'those that did not move): alert on a change that also matters (--fail-if).', '']
    if rules:
        out += ['## Alerts', '']
        out += ([f"* {short[a['file']]}: {a['rule']} ({a['name']} {a['value']:+.3g})"
                 for a in broken] if broken else
                [f"None: no file breaks {', '.join(r['rule'] for r in rules)}."])
        out.append('')
    return '\n'.join(out)


# -- files --------------------------------------------------------------------

def _write(path: str, text: str) -> None:
    """Whole or not at all (a kill mid-write left half a JSON file)."""
    from dld.utils.atomic_file import write_text_atomic
    try:
        write_text_atomic(path, text)
    except OSError as err:  # named by the file asked for, not its temporary one
        raise OSError(err.errno, err.strerror, path) from None


def _as_json(report: dict) -> dict:
    """The report with its record lists cut to the keys an analysis shows."""
    keep = ('input', 'path', 'gt_text', 'text', 'confidence', 'scale', 'track_id',
            'frame_idx', 'error_type', 'error')
    out = dict(report)
    for key in ('misreads', 'failures'):
        out[key] = [{k: r.get(k) for k in keep} for r in report[key]]
    return out


def _write_sheet(path: str, records: list) -> None:
    """The contact sheet of (the first) readings as a PNG, whole or not at all."""
    import cv2

    from dld.utils.atomic_file import write_file_atomic
    sheet = scale_sheet(records)
    if sheet is None:
        print(f'analyze_readings.py: --sheet {path}: no image of the records could be read; '
              'nothing drawn', file=sys.stderr)
        return
    ok, png = cv2.imencode('.png', sheet)
    if not ok:
        raise OSError(0, 'cannot encode the sheet', path)
    try:
        write_file_atomic(path, lambda f: f.write(png.tobytes()), text=False)
    except OSError as err:
        raise OSError(err.errno, err.strerror, path) from None


def _suspects_csv(report: dict) -> str:
    """The likely label errors of (the first) readings as CSV, one track a
    row, likeliest first; ``paths`` its frames joined by ``;``."""
    import csv
    import io
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(['where', 'track_id', 'label', 'read', 'votes', 'num_read', 'num_frames',
                     'confidence', 'score', 'edits', 'paths'])
    for r in report['label_suspects']:
        writer.writerow([r['where'], r['track_id'] or '', r['gt'], r['text'], r['votes'],
                         r['num_read'], r['num_frames'], f"{r['confidence']:.4f}",
                         f"{r['score']:.4f}", r['edits'],
                         ';'.join(str(p) for p in r['paths'])])
    return buf.getvalue()


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.apis.plate_recognizer import tracks_path
    from dld.apis.reading_analysis import (
        ReadingsError,
        analyse,
        compare,
        fill_read_right,
        is_failed,
        label_records,
        load_records,
        load_tracks,
    )
    target = args.target_accuracy / 100
    try:
        reports, records = {}, {}
        labels = load_records(args.labels) if args.labels else None
        for i, name in enumerate(args.readings):
            records[name] = load_records(name)
            if labels is not None:
                records[name], done = label_records(records[name], labels, name, args.labels)
                if not done and not any(r.get('gt_text') for r in records[name]):
                    print(f'analyze_readings.py: note: --labels {args.labels} holds no label '
                          f'for the images of {name}', file=sys.stderr)
            if args.crop_stats:
                done, missing = add_crop_stats(records[name])
                if missing:
                    print(f'analyze_readings.py: note: --crop-stats: '
                          f'{sum(not is_failed(r) for r in records[name]) - done} image(s) '
                          f'of {name} not found or not readable (first: {missing}): left out '
                          'of the sharpness and brightness', file=sys.stderr)
            tracks_file = args.tracks if i == 0 and args.tracks else tracks_path(name)
            tracks = (load_tracks(tracks_file)
                      if tracks_file == args.tracks or osp.isfile(tracks_file) else None)
            reports[name] = analyse(records[name], tracks, target, args.case_sensitive)
            if tracks is not None:
                reports[name]['tracks_file'] = tracks_file
        if args.drift:
            from dld.apis.reading_drift import alerts, drift
            if len({osp.abspath(n) for n in args.readings}) < len(args.readings):
                raise ReadingsError('a file is given twice; give each day once')
            found = drift({n: records[n] for n in args.readings}, args.low_confidence)
            broken = alerts(found, args.fail_if)
        elif len(args.readings) == 2:
            a, b = args.readings
            if osp.abspath(a) == osp.abspath(b):
                raise ReadingsError(f'{a} is compared with itself; give two files')
            try:
                cmp = compare(records[a], records[b], a, b, args.case_sensitive)
            except ReadingsError as err:
                if 'hold different images' not in str(err):
                    raise
                raise ReadingsError(f'{err} Files of different images (a camera\'s days): '
                                    '--drift compares what their readings look like, '
                                    'unpaired.') from None
    except ReadingsError as err:
        print(f'analyze_readings.py: {err}', file=sys.stderr)
        return 2

    if args.drift:
        print(render_drift(found, broken, args.fail_if), end='')
        listed = []
        dump = dict(files={n: _as_json(r) for n, r in reports.items()}, drift=found,
                    alerts=broken)
    elif len(args.readings) == 1:
        name = args.readings[0]
        print(render(reports[name], name, args.top), end='')
        listed = [r['path'] or r['input'] for r in reports[name]['misreads']]
        dump = dict(file=name, **_as_json(reports[name]))
    else:
        print(render_comparison(reports, cmp, args.top), end='')
        listed = [r['path'] for r in cmp['only_a_reads'] + cmp['only_b_reads']]
        dump = dict(files={n: _as_json(r) for n, r in reports.items()}, comparison=cmp)
    try:
        if args.json:
            _write(args.json, json.dumps(dump, indent=2, ensure_ascii=False) + '\n')
        if args.vis_list:
            _write(args.vis_list, ''.join(f'{p}\n' for p in listed))
        if args.suspects_csv:
            _write(args.suspects_csv, _suspects_csv(reports[args.readings[0]]))
        if args.sheet:
            _write_sheet(args.sheet, fill_read_right(records[args.readings[0]],
                                                     args.case_sensitive)[0])
    except OSError as err:
        print(f'analyze_readings.py: cannot write {err.filename}: {err.strerror}',
              file=sys.stderr)
        return 2
    return 1 if args.drift and broken else 0


if __name__ == '__main__':
    sys.exit(main())
