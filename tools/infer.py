"""Read plates with a trained DLD student and its selector.

    python tools/infer.py CONFIG CKPT INPUT [INPUT ...] [--out results.jsonl]
        [--vis DIR] [--scale S] [--device D] [--batch-size N] [--max-pixels N]
        [--beam-width W] [--topk K] [--track] [--layouts L ...] [--vote text|chars]
        [--tracks-csv FILE] [--track-root DIR]
        [--no-progress] [--amp] [--resume] [--cfg-options key=value ...]

INPUT is an image, a folder (searched recursively for images) or a label file
(``lr1,...|hr1,...<TAB>TEXT`` lines, see docs/datasets.md). For each image the
selector picks the input scale and the student reads the text; ``--scale``
forces one scale for all, and ``--cfg-options
model.test_cfg.reread.min_score=P model.test_cfg.reread.scales=[...]`` rereads
unsure images at larger scales (tools/calibrate_reread.py). Each image gets
one JSON record (``--out``, one per line) or one printed line; an image that
cannot be read gets an error record and the rest go on. The exit status is
0 when any input was read, 1 when every input failed, 2 for a refused
argument, a model that cannot be loaded or an output that cannot be
written, and 130 or 143 when stopped by Ctrl-C or SIGTERM (the records of
the images read are written first).
See docs/inference.md.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import contextlib
import csv
import json
import os
import os.path as osp
import pickle
import sys
from typing import List, Optional, Sequence, Tuple

from dld.cli_options import ConfigOptionsAction
from dld.reading_limits import MAX_BEAM_WIDTH, scale_error
from dld.utils.stop_signals import closed_terminal, said, stop_signal, stop_status


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Recognise licence plates with a DLD checkpoint (student + selector).')
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='DLD checkpoint (teacher weights not needed)')
    parser.add_argument('inputs', nargs='+', metavar='INPUT',
                        help='image files, folders or label files')
    parser.add_argument('--out', help='write one JSON record per image to this .jsonl file')
    parser.add_argument('--vis', metavar='DIR',
                        help='write each image with its prediction and scale drawn on it')
    parser.add_argument('--scale', type=float,
                        help='read every image at this scale (the selector does not run)')
    parser.add_argument('--device', help="e.g. 'cpu', 'cuda:0' (default: CUDA if available)")
    parser.add_argument('--batch-size', type=int, default=32,
                        help='images per forward (default 32)')
    parser.add_argument('--beam-width', type=int,
                        help='beam search with this width; 1: greedy decoding '
                        "(default: the config's)")
    parser.add_argument('--topk', type=int,
                        help='also output the k best texts (k > 1: beam search of width max(k, the '
                        "config's beam_width) unless --beam-width is given)")
    parser.add_argument('--track', action='store_true',
                        help='vote one text per track (folder / label-file track)')
    parser.add_argument('--layouts', nargs='+', metavar='LAYOUT',
                        help='(implies --track) only readings that fit one of these plate '
                        'layouts vote, where any does: names (brazilian, mercosur) or '
                        "patterns of L (letter), N (digit), A (either); 'none' votes with "
                        "every reading (default: the config's TrackAccuracyMetric layouts)")
    parser.add_argument('--vote', choices=['text', 'chars'],  # VOTE_METHODS, checked in a test
                        help="(implies --track) how frames vote: 'text', whole readings; "
                        "'chars', characters position by position, weighted by confidence "
                        "(default: the config's TrackAccuracyMetric vote, else 'text')")
    parser.add_argument('--track-root', metavar='DIR',
                        help='track ids are folder paths below DIR (cam00/trk0000) whatever '
                        'else is read, so runs over parts of one tree (a camera each) give the '
                        'ids of one run over it; every input must lie below DIR')
    parser.add_argument('--tracks-csv', metavar='FILE',
                        help='write the track votes as `track_id,text,confidence` lines '
                        '(implies --track)')
    parser.add_argument('--max-pixels', type=_max_pixels, default=16384 * 16384, metavar='N',
                        help="refuse larger images (an error record each), before decoding: "
                        "a number >= 1 (1e9 too) or 'none' (default: 16384 x 16384)")
    parser.add_argument('--resume', action='store_true',
                        help="go on with the run of this --out: keep the records of OUT.partial "
                        '(a run killed outright) or else of --out (one stopped by Ctrl-C), '
                        'read only the inputs they lack, and write --out over them all')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar (none is drawn where stderr is no terminal)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: float16 on CUDA, bfloat16 on a CPU with '
                        'AVX512-BF16 or AMX; ignored elsewhere')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, e.g. the reread cascade printed by '
                        'tools/calibrate_reread.py')
    args = parser.parse_args(argv)
    if args.scale is not None and scale_error('--scale', [args.scale]):
        parser.error(scale_error('--scale', [args.scale]))
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.track_root is not None:
        from dld.apis.input_items import track_root_problem
        if track_root_problem(args.track_root, args.inputs):
            parser.error(f'--track-root: {track_root_problem(args.track_root, args.inputs)}')
    if args.resume and not args.out:
        parser.error('--resume goes on with the run of a --out file: give it')
    from dld.utils.atomic_file import is_stream
    if args.resume and is_stream(args.out):
        parser.error(f'--resume goes on with the run of a --out file; {args.out} is a stream')
    for flag, path in (('--out', args.out), ('--tracks-csv', args.tracks_csv)):
        if path == '-':  # it wrote a file named '-'
            parser.error(f'{flag} -: give a file; without --out the records are printed')
    for flag, value in (('--beam-width', args.beam_width), ('--topk', args.topk)):
        if value is not None and not 1 <= value <= MAX_BEAM_WIDTH:
            parser.error(f'{flag} must be from 1 to {MAX_BEAM_WIDTH}, got {value}')
    if args.beam_width is not None and args.topk is not None and args.beam_width < args.topk:
        parser.error(f'--beam-width {args.beam_width} cannot return --topk {args.topk} texts; '
                     f'give --beam-width >= {args.topk}')
    # the options of the track vote ask for it
    args.track = (args.track or bool(args.tracks_csv) or args.layouts is not None
                  or args.vote is not None)
    if args.layouts is not None:
        if args.layouts == ['none']:
            args.layouts = []
        try:
            from dld.evaluation.metrics import layout_matcher
            layout_matcher(args.layouts)
        except ValueError as err:
            parser.error(f'--layouts: {err}')
    return args


def _max_pixels(text: str):
    """``--max-pixels``: a whole number >= 1 (``1e9`` too), or ``none`` or
    ``inf`` for no limit."""
    if text.lower() in ('none', 'inf'):
        return None
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not value >= 1 or value == float('inf') or value != int(value):  # nan too
        raise argparse.ArgumentTypeError(f"a whole number >= 1, or 'none', got {text!r}")
    return int(value)


def _write_jsonl(path: str, records) -> None:
    def write(f):
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + '\n')
    _write_atomic(path, write)


def _write_tracks_csv(path: str, tracks) -> None:
    """One ``track_id,text,confidence`` line per track, under a header: the
    answer a challenge scores. A track whose every frame failed has an
    empty text and confidence. Confidences keep every digit (``repr``): a
    CTC model's can be 1e-14, which six decimals write as 0, and ties are
    broken by them."""
    def write(f):
        rows = csv.writer(f, lineterminator='\n')
        rows.writerow(['track_id', 'text', 'confidence'])
        for t in tracks:
            conf = t.get('confidence')
            rows.writerow([t['track_id'], t['text'] or '',
                           '' if conf is None else repr(float(conf))])
    _write_atomic(path, write)


def _write_atomic(path: str, write) -> None:
    """``write(file)`` into ``path`` through a temporary file (made anew,
    exclusively: :func:`~dld.utils.atomic_file.new_temporary`): never half a
    file."""
    from dld.utils.atomic_file import write_file_atomic
    write_file_atomic(path, write, text=True)


def _unwritable_outputs(args) -> list:
    """Why ``--out`` (and its ``.tracks.jsonl``), ``--tracks-csv`` or
    ``--vis`` cannot be written, or would replace an input or each other,
    checked before any image is read; empty when all can. A ``--out`` whose
    ``.partial`` file is there (a run killed outright left its records in
    it) is refused: the new run would write over them."""
    from dld.apis.image_input import IMAGE_EXTENSIONS
    from dld.apis.plate_recognizer import tracks_path
    from dld.utils.output_paths import unwritable_outputs
    partial = partial_path(args.out) if args.out else None
    if partial and osp.islink(partial):  # the records would go where it points
        return [f'{partial} is a link: the records of this run are written there; remove it']
    if partial and osp.isfile(partial) and osp.getsize(partial) == 0:
        os.remove(partial)  # a run stopped before its first batch: it holds nothing
    if partial and osp.exists(partial) and not args.resume:
        return [f'{partial} is there: the records of a run stopped outright (killed, out of '
                'memory)? Go on from them with --resume (the same inputs), or keep them '
                'elsewhere, or remove the file, and run again']
    from dld.utils.atomic_file import is_stream
    stream = bool(args.out) and is_stream(args.out)
    if stream and args.track and not args.tracks_csv:  # its votes go to a file beside it
        return [f'--out {args.out} is a stream, and the track votes go to a file beside --out; '
                'give --out a file, or --tracks-csv a file for the votes']
    # a stream's votes go to --tracks-csv alone (it said so, and refused it too)
    votes = tracks_path(args.out) if args.out and args.track and not stream else None
    return unwritable_outputs(
        files=[('--out', args.out, '.jsonl'),
               ('--out\'s track votes', votes, '.jsonl'),
               ('--tracks-csv', getattr(args, 'tracks_csv', None), '.csv')],
        folders=[('--vis', args.vis)], inputs=[args.config, args.checkpoint, *args.inputs],
        input_kinds=IMAGE_EXTENSIONS)


def _note_drawings_below_inputs(args) -> None:
    """Drawings written into an input folder are read as plates by the next
    run over it: said, not refused (the folder may be read once only)."""
    if not args.vis:
        return
    vis = osp.realpath(args.vis)
    for given in args.inputs:
        folder = osp.realpath(given)
        if osp.isdir(folder) and (vis == folder or vis.startswith(folder + os.sep)):
            print(f'infer.py: note: --vis {args.vis} is in the input folder {given}: a later run '
                  'over that folder reads the drawings as plates', file=sys.stderr)
            return


def _relative_cost(mean: float, teacher: float) -> str:
    """``'75.6% less than'``, ``'as much as'`` (the teacher itself, to the
    rounding) or, where the selector's cost tips it over, ``'0.1% more than'``."""
    saved = round(100 * (1 - mean / teacher), 1)
    if saved == 0:
        return 'as much as'
    return f'{saved:.1f}% less than' if saved > 0 else f'{-saved:.1f}% more than'


def _read_right(records: list, tracks: list) -> str:
    """``'; 9/10 labelled images read right (...)'`` where labels are known
    (a label file, an ICPR track folder): their ``read_right``, as the
    config's plate metric counts; a labelled image that could not be read
    counts as not read right, as a track whose frames all failed does."""
    from dld.evaluation.metrics import confidence_gap
    labelled = [r for r in records if r.get('gt_text')]
    if not labelled:
        return ''
    right = sum(r['read_right'] for r in labelled)
    out = f'; {right}/{len(labelled)} labelled images read right'
    voted = [t for t in tracks if t.get('gt_text')]
    if voted:
        readings = [(t['read_right'], t['confidence'] or 0.0) for t in voted]
        right = sum(ok for ok, _ in readings)
        out += f', {right}/{len(voted)} labelled tracks by their vote'
        gap = confidence_gap(readings)
        if 'confidence_gap' in gap:
            out += (f" (confidence gap {gap['confidence_gap']:.3f}: right "
                    f"{gap['confidence_right']:.3f}, wrong {gap['confidence_wrong']:.3f})")
    return out


def _line(rec: dict) -> str:
    from dld.apis.prediction_drawing import format_confidence
    if rec['error'] is not None:
        return f"{rec['input']}\tERROR\t{rec['error']}"
    h, w = rec['input_size']
    # --topk's texts (a record's log-probabilities) at the end: the columns before stay
    best = ''.join(f'\t{text} ({logp:.3f})' for text, logp in rec.get('topk') or ())
    return (f"{rec['input']}\t{rec['text']}\t{format_confidence(rec['confidence'])}"
            f"\tscale={rec['scale']:g}"
            f"\t{h}x{w}\t{rec['gflops'] * 1e3:.2f} MFLOPs{best}")


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.utils.one_process import refuse_several_processes
    if refuse_several_processes('infer.py'):
        return 2
    problems = _unwritable_outputs(args)
    if problems:
        print('infer.py: ' + '\ninfer.py: '.join(problems), file=sys.stderr)
        return 2
    _note_drawings_below_inputs(args)
    from dld.apis import ReadingInterrupted
    from dld.utils.stop_signals import signals_as_one_stop
    with signals_as_one_stop(hangup=True) as stop:
        try:
            earlier, source = [], None
            if args.resume:
                try:
                    earlier, source = earlier_records(args.out)
                except (OSError, ValueError) as err:
                    print(f'infer.py: --resume: {err}', file=sys.stderr)
                    return 2
                print(f'infer.py: --resume: {len(earlier)} record(s) kept from {source}; the '
                      'inputs they lack are read' if source else
                      f'infer.py: --resume: no {args.out} nor its .partial file yet; every '
                      'input is read', file=sys.stderr)
                _note_undrawn(args, earlier)
            recognizer = _load(args)
            if recognizer is None:
                return 2
            try:
                result, stopped = _read(args, recognizer, earlier, source), None
            except ReadingInterrupted as interrupted:  # written as a whole run's is
                result, stopped = interrupted.result, interrupted
            result = _with_earlier(args, recognizer, result, earlier, stopped)
        except KeyboardInterrupt as err:  # while the model loads or the inputs are listed
            if args.out and osp.isfile(partial_path(args.out)) and \
                    osp.getsize(partial_path(args.out)) == 0:
                os.remove(partial_path(args.out))  # no batch was read into it
            name = stop_signal(err)
            print(f'infer.py: stopped by {said(name)}: no image was read', file=sys.stderr)
            return stop_status(name)
        stop.defer = True  # a signal now waits until what was read is written
        try:
            status = _write(args, result, stopped, uncounted_ops(recognizer))
        except BrokenPipeError:  # `infer.py ... | head`: the reader wants no more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status = run_status(result['predictions'], stopped)
        except OSError as err:  # its terminal closed before its SIGHUP came: the same stop
            if not closed_terminal(err):
                raise
            stop.append('SIGHUP')  # stdout and stderr to the null device from now on
            # again: without --out the records go to stdout before any file is
            # written (--tracks-csv), and the failed write left them unwritten
            status = _write(args, result, stopped, uncounted_ops(recognizer))
    _note_text_limit(result['predictions'], recognizer)
    if stop and stopped is None:
        print(f'infer.py: stopped by {said(stop.names[0])} once every image was read: the '
              'records are written', file=sys.stderr)
        return stop_status(stop.names[0])
    return status


def _say_failures(records: Sequence[dict], shown: int = 5) -> None:
    """The first failed inputs and why, on stderr: a mistyped folder was
    '0/1 image(s) read; 1 failed (see their error records)', the reason in
    the --out file only."""
    failed = [r for r in records if r['error'] is not None]
    for rec in failed[:shown]:
        print(f"infer.py: {rec['input']}: {rec['error']}", file=sys.stderr)
    if len(failed) > shown:
        print(f'infer.py: ... and {len(failed) - shown} more failed input(s)', file=sys.stderr)


def _note_text_limit(records: Sequence[dict], recognizer) -> None:
    """Labels longer than the attention decoder emits, said on stderr (each
    such image is a misread however it is read): test.py warned of them,
    infer.py said nothing."""
    from dld.engine.hooks.label_length_check_hook import max_label_length
    model = getattr(recognizer, 'recognizer', None)  # a stand-in reader may have none
    limit = None if model is None else max_label_length(model)
    if limit is None:  # CTC: the frames of the scale each image was read at
        _note_ctc_frames(records, recognizer, model)
        return
    longer = [r for r in records if len(r.get('gt_text') or '') > limit]
    if longer:
        print(f'infer.py: {len(longer)} labelled image(s) have a label of more than {limit} '
              'characters, the most the model reads (max_seq_len - 1): never read whole '
              f"(e.g. {longer[0]['input']}: {longer[0]['gt_text']!r})", file=sys.stderr)


def _note_ctc_frames(records: Sequence[dict], recognizer, model) -> None:
    """Labels a CTC reader could not spell in the frames of the scale each
    image was read at (a character each, a blank between two alike), said
    on stderr as :func:`_note_text_limit` says an attention decoder's: test.py
    warned of them, infer.py said nothing."""
    from dld.models.distillers.ctc_frames import ctc_length, frames_at_scales, reads_per_frame
    reader = None if model is None else getattr(model, 'student', model)
    base = getattr(recognizer, 'base_size', None)
    if reader is None or base is None or not reads_per_frame(reader):
        return
    labelled = [r for r in records if r.get('error') is None and r.get('gt_text')]
    scales = sorted({float(r['scale']) for r in labelled}, reverse=True)
    if not scales:
        return
    frames = {s: f for s, (f, _) in frames_at_scales(reader, base, scales).items()}
    fold = not getattr(recognizer, 'case_sensitive', False)

    def needs(r: dict) -> int:  # as the metric compares it ('aA' is 'AA' folded)
        return ctc_length(r['gt_text'].upper() if fold else r['gt_text'])

    longer = [r for r in labelled if needs(r) > frames[float(r['scale'])]]
    if longer:
        r = longer[0]
        print(f'infer.py: {len(longer)} labelled image(s) were read at a scale whose CTC frames '
              'cannot spell their label (a character each, a blank between two alike): never '
              f"read whole (e.g. {r['input']}: {r['gt_text']!r} needs "
              f"{needs(r)} frame(s), scale {r['scale']:g} gives "
              f"{frames[float(r['scale'])]})", file=sys.stderr)


def _load(args):
    """The PlateRecognizer of the config and checkpoint; None where it cannot
    be loaded (said)."""
    from dld.apis import PlateRecognizer, load_config
    try:
        # MMEngine prints its loading messages to stdout; stdout is for results.
        with contextlib.redirect_stdout(sys.stderr):
            cfg = load_config(args.config, args.cfg_options)
            return PlateRecognizer(cfg, args.checkpoint, device=args.device,
                                   batch_size=args.batch_size, max_pixels=args.max_pixels,
                                   show_progress=draws_progress(args), amp=args.amp)
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, ImportError,
            pickle.UnpicklingError) as err:  # TypeError: a config argument no class takes
        # ImportError: a config's custom_imports not found from here
        print(f'infer.py: cannot load the model: {err}', file=sys.stderr)
        return None


def partial_path(out: str) -> str:
    """Where ``--out``'s records go batch by batch while a run reads: a run
    killed outright (SIGKILL, out of memory) keeps them there; one that
    ends, however, writes ``--out`` whole and removes it."""
    return f'{out}.partial'


def draws_progress(args) -> bool:
    """A progress bar where stderr is a terminal, unless --no-progress: in a
    log file or a pipe (the quickstart's steps, CI) each redraw was a copy on
    one line. (PlateRecognizer's show_progress=True draws one wherever it is
    asked, a notebook's cell output among them.)"""
    return not args.no_progress and sys.stderr.isatty()


def earlier_records(out: str) -> Tuple[List[dict], Optional[str]]:
    """``--resume``: the records of the run of ``out`` and the file they are
    from: its ``.partial`` file (a run killed outright; a last line cut
    short is left out, its image read again) or else ``out`` (a run stopped
    by Ctrl-C writes it whole); none where neither is there."""
    for path in (partial_path(out), out):
        if not osp.isfile(path):
            continue
        records = []
        with open(path, encoding='utf-8') as f:
            for line in f:
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, RecursionError):  # nested too deeply
                    if line.endswith('\n'):  # not a line cut short by the kill
                        raise ValueError(f'{path}:{len(records) + 1}: not a JSON record; '
                                         '--resume reads the records infer.py wrote') from None
                    continue
                if not isinstance(record, dict) or 'input' not in record:
                    # valid JSON of another kind ('[1]'): an AttributeError further on
                    raise ValueError(f'{path}:{len(records) + 1}: not a record of infer.py '
                                     "(a JSON object with its 'input'); --resume reads the "
                                     'records infer.py wrote')
                records.append(record)
        return records, path
    return [], None


def _read(args, recognizer, earlier: Sequence[dict] = (),
          source: Optional[str] = None) -> dict:
    kwargs = dict(scale=args.scale, beam_width=args.beam_width, topk=args.topk,
                  vis_dir=args.vis, track=args.track, layouts=args.layouts, vote=args.vote,
                  track_root=args.track_root)
    from dld.utils.atomic_file import is_stream
    if not args.out or is_stream(args.out):  # /dev/stdout, a pipe: no .partial beside it
        return recognizer(args.inputs, **kwargs)
    partial = partial_path(args.out)
    failed, f = [], None

    def cannot(err: OSError) -> None:  # a full disk: the records stay in memory
        failed.append(err)
        print(f'infer.py: cannot write {partial}: {err.strerror}; reading on, the records '
              'kept in memory until the end', file=sys.stderr)
    try:
        # a resumed run's partial file holds the earlier records first: a kill keeps them
        # never through a link (one planted under the name had the records
        # written where it pointed), and a fresh file made anew
        nofollow = getattr(os, 'O_NOFOLLOW', 0)
        if source == partial:  # go on after its last whole line (the one cut short goes)
            with os.fdopen(os.open(partial, os.O_RDWR | nofollow), 'rb+') as whole:
                whole.truncate(whole.read().rfind(b'\n') + 1)
        else:  # the earlier records are in --out, which stays until the end
            fresh = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o666)
            with os.fdopen(fresh, 'w', encoding='utf-8') as out:
                out.write(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in earlier))
        f = os.fdopen(os.open(partial, os.O_WRONLY | os.O_APPEND | nofollow), 'a',
                      encoding='utf-8')
    except OSError as err:
        cannot(err)

    def append(records):
        if failed:  # the run reads on; its end writes --out, or prints what it cannot
            return
        try:
            f.write(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in records))
            f.flush()
        except OSError as err:
            cannot(err)
    try:
        skip = {r.get('input') for r in earlier}
        return recognizer(args.inputs, on_records=append, skip=skip, **kwargs)
    finally:
        try:
            if f is not None:
                f.close()
        except OSError:  # what it could not write is in memory (said above)
            pass


def _note_undrawn(args, earlier: Sequence[dict]) -> None:
    """``--resume --vis``: the images an earlier run read without drawing
    them are not read again, so not drawn: said, not left to be found."""
    if not args.vis:
        return
    undrawn = [r['input'] for r in earlier if r.get('error') is None and not r.get('vis_path')]
    if undrawn:
        print(f'infer.py: --resume: {len(undrawn)} image(s) read before are not drawn (the '
              f'run that read them drew none, e.g. {undrawn[0]}): draw them in a run of '
              'their own', file=sys.stderr)


def _with_earlier(args, recognizer, result: dict, earlier: List[dict], stopped=None) -> dict:
    """The earlier run's records and this one's as one run's: in order, the
    track votes over both (a track cut by the stop is voted whole), the
    drawings of both."""
    if not earlier:
        return result
    drawn = [r['vis_path'] for r in earlier if r.get('vis_path')]
    merged = recognizer.postprocess(earlier + result['predictions'],
                                    drawn + result.get('visualization', []), track=args.track,
                                    layouts=args.layouts, vote=args.vote)
    if stopped is not None:  # a stop again: the frames this run did not read, of any
        # track voted (one whose frames left were all unread has no record of this run)
        from dld.apis.plate_recognizer import mark_cut_tracks
        mark_cut_tracks(merged.get('tracks', []), stopped.unread)
    return dict(result, **merged)


def uncounted_ops(recognizer) -> List[str]:
    """The ops the reader's FLOP count left out (counted as 0, as
    ``tools/analysis/get_flops.py`` says under its table): its figures are then
    lower bounds; none for a stand-in reader without costs."""
    return sorted(getattr(getattr(recognizer, 'costs', None), 'uncounted_ops', None) or ())


def _write(args, result: dict, stopped, uncounted: Sequence[str] = ()) -> int:
    """Print or write the records and votes, then the summary; the status."""
    from dld.apis import tracks_path
    from dld.apis.prediction_drawing import format_confidence
    records = result['predictions']
    partial = partial_path(args.out) if args.out else None
    from dld.utils.atomic_file import is_stream
    kept = [p for p in (args.out, args.tracks_csv) if p and osp.exists(p) and not is_stream(p)]
    if kept and not any(r['error'] is None for r in records):
        # a mistyped input (or a stop) read nothing: the earlier run's files stay
        if partial and osp.exists(partial):
            os.remove(partial)  # it holds these error records only
        for rec in records:
            print(_line(rec))
        said_why = (f'stopped by {said(stop_signal(stopped))} before any image was read'
                    if stopped is not None else 'no image was read')
        as_it_was = ('is kept as it was' if len(kept) == 1 else 'are kept as they were')
        print(f"infer.py: {said_why}; {' and '.join(kept)} {as_it_was}"
              + (' (the records above say why)' if records else ''), file=sys.stderr)
        return run_status(records, stopped)

    if not args.out:  # before any file: a failed write then loses none of them
        for rec in records:
            print(_line(rec))
        for t in result.get('tracks', []):
            votes = t['votes'] if t['text'] is not None else 0
            conf = '-' if t['confidence'] is None else format_confidence(t['confidence'])
            text = '-' if t['text'] is None else t['text']  # no frame read
            print(f"track {t['track_id']}\t{text}\t{conf}\t"
                  f"{votes}/{t['num_frames']} votes")
        sys.stdout.flush()

    outputs = []
    if args.out:
        outputs.append((args.out, 'the records', records, _write_jsonl))
        if args.track and not is_stream(args.out):  # a stream's: in --tracks-csv
            outputs.append((tracks_path(args.out), 'the track votes', result['tracks'],
                            _write_jsonl))
    if args.tracks_csv:
        outputs.append((args.tracks_csv, 'the track votes', result['tracks'],
                        _write_tracks_csv))
    # What stdout holds already (no --out: the lines above).
    shown = [] if args.out else [('stdout', 'the records', records, None),
                                 ('stdout', 'the track votes', result.get('tracks'), None)]
    # every output is tried (a failed --out on a full disk left a --tracks-csv
    # on another disk unwritten); what no file holds then goes to stdout
    failed = []
    for path, what, recs, write in outputs:
        try:
            write(path, recs)
        except OSError as err:
            failed.append((path, what, recs, err))
    if failed:
        held = shown + [o for o in outputs if not any(o[0] == f[0] for f in failed)]
        for path, what, recs, err in failed:
            # Name the file that failed (a write error names none, os.replace its .tmp)
            holder = next((h for h, _, r, _ in held if r is recs), None)
            print(f'infer.py: cannot write {path}: {err.strerror}'
                  + (f'; {what} are in {holder}' if holder else f'; {what} follow on stdout'),
                  file=sys.stderr)
            if holder is None:
                for rec in recs:
                    print(json.dumps(rec, ensure_ascii=False))
                held.append(('stdout', what, recs, None))
        if partial and osp.exists(partial) and any(f[0] == args.out for f in failed):
            # its writing may have failed too (the same full disk): a part then
            with open(partial, 'rb') as f:
                whole = f.read().count(b'\n')
            held = ('the records read are also in' if whole >= len(records) else
                    f'{whole} of the {len(records)} records (those written before its write '
                    'failed) are also in')
            print(f'infer.py: {held} {partial} (--resume goes on from them)',
                  file=sys.stderr)
        elif partial and osp.exists(partial):  # --out holds them all
            os.remove(partial)
        return 2
    if partial and osp.exists(partial):  # --out holds them all now
        os.remove(partial)

    ok = [r for r in records if r['error'] is None]
    # the records of an earlier run (--resume) count among those read and asked
    asked = None if stopped is None else \
        stopped.total + len(records) - len(stopped.result['predictions'])
    summary = f'{len(ok)}/{len(records)} image(s) read' + (
        f' (stopped: {asked} asked)' if stopped is not None else '')
    if ok:
        mean = sum(r['gflops'] for r in ok) / len(ok)
        teacher = ok[0]['gflops_teacher']
        summary += (f'; mean {mean * 1e3:.2f} MFLOPs per image, '
                    f'{_relative_cost(mean, teacher)} the teacher at full resolution '
                    f'({teacher * 1e3:.2f} MFLOPs)')
        if uncounted:  # said by a warning too, which scrolls off above the readings
            summary += (f", both lower bounds: no FLOP count for {', '.join(uncounted)}, which "
                        'count as 0 (a handle in dld.utils.flops.EXTRA_FLOP_HANDLES counts them)')
    summary += _read_right(records, result.get('tracks', []))
    truncated = sum(bool(r.get('truncated')) for r in ok)  # an earlier run's may lack it
    if truncated:
        summary += (f"; {truncated} reading(s) cut at the decoder's max_seq_len, where it "
                    'would have read on (`truncated` in their records: a longer text than '
                    'the model emits)')
    if result['num_failed']:
        # a refused label line is one record, however many images it lists
        lines = sum('label line not read' in (r['error'] or '') for r in records)
        whole = (f'; {lines} of them a label line refused whole, its images not counted'
                 if lines else '')
        summary += f'; {result["num_failed"]} failed (see their error records{whole})'
    if args.out:
        summary += f'; records in {args.out}'
    votes = [path for path, what, _, _ in outputs if what == 'the track votes']
    if votes:
        summary += f'; track votes in {" and ".join(votes)}'
    if args.vis:
        summary += f'; drawings in {args.vis}'
    print(summary, file=sys.stderr)
    if args.out:  # without --out each failure is a line of stdout already
        _say_failures(records)
    _note_large_tracks(result.get('tracks', []))
    if stopped is not None:
        name = stop_signal(stopped)
        cut = [t for t in result.get('tracks', []) if t.get('num_unread')]
        cut_said = '' if not cut else (
            f'; track {cut[0]["track_id"]} was cut short: voted over its {cut[0]["num_frames"]} '
            f'frame(s) read, {cut[0]["num_unread"]} not read'
            + (f' (and {len(cut) - 1} more track(s))' if len(cut) > 1 else '')
            + ' (`num_unread` in its vote; --resume votes it whole)')
        print(f'infer.py: stopped by {said(name)} after {len(records)} of {asked} '
              f'image(s): the records and track votes given are of those read{cut_said}',
              file=sys.stderr)
        return stop_status(name)
    return 0 if ok else 1


def run_status(records: Sequence[dict], stopped) -> int:
    """The exit status of a run: the stop's (130, 143), else 1 when no image
    was read, 0 when any was."""
    if stopped is not None:
        return stop_status(stop_signal(stopped))
    return 0 if any(r['error'] is None for r in records) else 1


#: More frames than a camera takes of one plate (the ICPR tracks have 5).
LARGE_TRACK = 10


def _note_large_tracks(tracks: list) -> None:
    """A folder of unrelated crops read with ``--track`` votes them all into
    one text: say so when a track holds more frames than one plate's."""
    large = [t for t in tracks if t['num_frames'] > LARGE_TRACK]
    if large:
        big = max(large, key=lambda t: t['num_frames'])
        print(f"infer.py: note: {len(large)} track(s) vote more than {LARGE_TRACK} images as "
              f"one text, the largest {big['track_id']!r} {big['num_frames']}: --track takes "
              'the images of one folder (one label-file line) as the frames of one plate '
              '(or word)',
              file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
