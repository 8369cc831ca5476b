"""Export a DLD student and its selector (or a plain recognizer) to ONNX.

    python tools/deployment/export_onnx.py CONFIG CKPT --out-dir DIR
        [--scales S ...] [--opset N] [--check-images PATH ...]
        [--check-count N] [--no-check] [--force] [--cfg-options key=value ...]
        [--int8 [--calib-images PATH ...] [--calib-count N] [--int8-max-drop PT]]

Writes one graph per scale, the selector's and ``dld_onnx.json`` into DIR,
then reads check images with the export (``dld/deploy/onnx_reader.py``,
ONNX Runtime, no PyTorch) and with ``PlateRecognizer`` and compares them:
``--check-images`` (image files or folders), else 64 images of the
config's test set where the config reads a set on disk (words, real
plates), else 64 plates of the built-in generator. The export is put in
place only when every reading agrees; otherwise it is left in
``DIR.unverified`` and the tool exits with status 1. ``--int8`` then
quantizes the convolutions of each scale's graph (calibrated on
``--calib-images``, the config's training images or generated plates, in
that order) and checks the int8 export's accuracy against the float one's.
See docs/deployment.md.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import contextlib
import os
import os.path as osp
import pickle
import re
import shutil
import signal
import socket
import sys
import tempfile
from typing import Optional

from dld.cli_options import ConfigOptionsAction

#: Generated plates the export is compared with PyTorch on; the int8 check
#: reads more, since it measures an accuracy difference, not an identity.
FLOAT_CHECK_COUNT = 64
INT8_CHECK_COUNT = 512
CALIB_COUNT = 256
INT8_MAX_DROP = 1.0
#: Fewer calibration images than this are warned of.
FEW_CALIBRATION_IMAGES = 32


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export a DLD checkpoint to ONNX graphs read by ONNX Runtime, and check '
        'that they read as PyTorch does.')
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='DLD checkpoint (teacher weights not needed) '
                        'or a plain recognizer checkpoint')
    parser.add_argument('--out-dir', required=True, help='folder to write the export into')
    parser.add_argument('--scales', type=float, nargs='+',
                        help="scales to export (default: a DLD model's candidate scales; "
                        '1.0 for a plain recognizer)')
    parser.add_argument('--opset', type=int, default=18,
                        help='ONNX opset (>= 18: the scale resize is antialiased)')
    parser.add_argument('--check-images', nargs='+', metavar='PATH',
                        help='image files or folders to compare the readers on (default: '
                        "the config's test images, or plates of the built-in generator for a "
                        'config that renders them)')
    parser.add_argument('--check-count', type=int,
                        help="the config's test frames (or generated plates) to compare on "
                        f'without --check-images (default {FLOAT_CHECK_COUNT}; with --int8, '
                        f'{INT8_CHECK_COUNT} for its check)')
    parser.add_argument('--no-check', action='store_true',
                        help='write the export without comparing readings')
    parser.add_argument('--force', action='store_true',
                        help='replace an export already in --out-dir')
    parser.add_argument('--int8', action='store_true',
                        help="quantize each scale's convolutions to int8 (2x the images/s of the "
                        "quickstart's models at full scale on a CPU with VNNI; less at small "
                        'scales and for small models), calibrated on plates and checked for '
                        'accuracy')
    parser.add_argument('--calib-images', nargs='+', metavar='PATH',
                        help='with --int8: image files or folders to calibrate on, like the '
                        "plates the model will read (default: the config's training images, "
                        'or plates of the built-in generator for a config that renders them)')
    parser.add_argument('--calib-count', type=int,
                        help='with --int8: generated plates to calibrate on, or at most this '
                        f'many of --calib-images (evenly spaced over them; default {CALIB_COUNT})')
    parser.add_argument('--int8-max-drop', type=float, metavar='PT',
                        help='with --int8: the most plate accuracy (points) the int8 export may '
                        'lose against the float one on the check plates; on --check-images, '
                        f'without labels, the most readings (%%) it may change (default '
                        f'{INT8_MAX_DROP:g})')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, e.g. model.test_cfg.reread')
    args = parser.parse_args(argv)
    if args.opset < 18:
        parser.error(f'--opset must be >= 18 (antialiased Resize), got {args.opset}')
    newest = newest_onnx_opset()
    if newest is not None and args.opset > newest:
        parser.error(f'--opset {args.opset} is newer than the installed onnx package knows '
                     f'(up to {newest}); the exporter would write another')
    for name in ('check_count', 'calib_count'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.int8_max_drop is not None and not args.int8_max_drop >= 0:
        parser.error(f'--int8-max-drop must be >= 0, got {args.int8_max_drop}')
    for needs, names in (('--int8', () if args.int8 else
                          ('calib-images', 'calib-count', 'int8-max-drop')),
                         ('a check (not with --no-check)', ('check-images', 'check-count')
                          if args.no_check else ())):
        given = [f'--{n}' for n in names if getattr(args, n.replace('-', '_')) is not None]
        if given:  # given for nothing: the user meant something else
            parser.error(f'{", ".join(given)} only with {needs}')
    args.calib_count = args.calib_count or CALIB_COUNT
    args.int8_max_drop = INT8_MAX_DROP if args.int8_max_drop is None else args.int8_max_drop
    return args


def _out_dir_problem(out_dir: str, force: bool) -> str:
    """Why ``out_dir`` cannot take the export, or ''."""
    from dld.deploy.onnx_reader import MANIFEST
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        return f'--out-dir {out_dir} is a file; give a folder'
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not osp.isfile(osp.join(out_dir, MANIFEST)):
            return (f'--out-dir {out_dir} holds files that are not an export; give an empty '
                    'or new folder')
        if not force:
            return f'--out-dir {out_dir} holds an export already; --force replaces it'
        others = sorted(n for n in set(os.listdir(out_dir)) - _export_files(out_dir)
                        # a killed move's copies into a mount point: this one removes them
                        if not (_LEFTOVER.match(n) and osp.ismount(out_dir)))
        if others:  # --force removed them with the export, without a word
            from dld.utils.listing import first_and_more
            return (f'--out-dir {out_dir} holds files that are not of its export '
                    f'({first_and_more(others, 5)}): '
                    '--force replaces the export alone; move them, or give another folder')
    # the nearest folder that exists must let the export's parents be made
    parent = osp.dirname(osp.abspath(out_dir))
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        return f'--out-dir {out_dir}: {parent} is a file'
    if not os.access(parent, os.W_OK | os.X_OK):
        return f'--out-dir {out_dir}: {parent} is not writable'
    return ''


def _export_files(folder: str) -> set:
    """The names of the files of the export in ``folder``: its manifest and
    every file the manifest names (empty where it cannot be read)."""
    import json

    from dld.deploy.onnx_reader import MANIFEST
    try:
        with open(osp.join(folder, MANIFEST), encoding='utf-8') as f:
            manifest = json.load(f)
    except (OSError, ValueError, RecursionError):
        return set()
    names = {MANIFEST}

    def named(part) -> None:
        if isinstance(part, dict):
            for key, value in part.items():
                if key == 'file' and isinstance(value, str):
                    names.add(value)
                    names.add(f'{value}.data')  # weights kept beside a large graph
                else:
                    named(value)
        elif isinstance(part, list):
            for value in part:
                named(value)

    named(manifest)
    return names


def _move_into_place(staging: str, out_dir: str) -> None:
    """``staging`` becomes ``out_dir``; an export there is removed only once
    the new one is in place. A mount point (a container's volume, ``docker
    run -v ...:/out``) cannot be renamed: the files are moved into it."""
    if osp.isdir(out_dir) and osp.ismount(out_dir):
        _move_files_into(staging, out_dir)
        return
    old = None
    if osp.isdir(out_dir):
        old = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.old-',
                               dir=osp.dirname(osp.abspath(out_dir)))
        os.rmdir(old)
        os.rename(out_dir, old)
    os.rename(staging, out_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


#: A file ``_move_files_into`` copies in before its rename: one an export
#: killed outright (kill -9, out of memory) left is removed by the next.
_LEFTOVER = re.compile(r'^\..+\.\d+\.new$')


def _move_files_into(staging: str, out_dir: str) -> None:
    """Put the export in ``staging`` into the folder ``out_dir``, which
    stays (a mount point): each file is copied in under a hidden name, then
    the old export's manifest goes first and the new one's comes last, so
    a reader never finds a manifest naming graphs of another export."""
    from dld.deploy.onnx_reader import MANIFEST
    names = sorted(os.listdir(staging), key=lambda n: n == MANIFEST)  # the manifest last
    temps = {}
    try:
        for name in names:
            temps[name] = osp.join(out_dir, f'.{name}.{os.getpid()}.new')
            shutil.copyfile(osp.join(staging, name), temps[name])
    except BaseException:
        for temp in temps.values():
            with contextlib.suppress(OSError):
                os.remove(temp)
        raise
    old = _export_files(out_dir)
    with contextlib.suppress(FileNotFoundError):
        os.remove(osp.join(out_dir, MANIFEST))  # no longer an export: then the files
    for name in sorted(old - set(names)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(osp.join(out_dir, name))
    for name in names:
        os.replace(temps[name], osp.join(out_dir, name))
    for name in os.listdir(out_dir):  # a killed export's copies
        if _LEFTOVER.match(name):
            with contextlib.suppress(OSError):
                os.remove(osp.join(out_dir, name))


def _check_images(args, cfg=None, frame: str = 'lr'):
    """The images to compare the readers on, and their description:
    ``--check-images``; else the config's own test images where it reads no
    generated plates (a word model was checked on generated plates, which
    it read as mostly empty: the match said little); else generated ones."""
    from dld.deploy.onnx_export import synthetic_check_images
    if not args.check_images:
        count = args.check_count or FLOAT_CHECK_COUNT
        own = _config_set_images(cfg, 'test', frame, count)
        if own is not None:
            return own[0], own[2]
        return synthetic_check_images(count), _count(count, 'generated plate')
    images = _read_images(args.check_images, '--check-images')
    return images, _count(len(images), 'image') + ' of --check-images'


def _config_set_images(cfg, split: str, frame: str, count: int):
    """``(images, labels, description)``: up to ``count`` frames (evenly
    spaced) of the config's ``split`` set (``'test'`` or ``'train'``), of
    the stream the model reads, with their labels as the set gives them
    (its dictionary's case; None where one lacks one); None where the split
    reads the built-in generator's plates (``synth_plates``, inherited or
    not, or a set rendered when read) or has no set. A set that cannot be
    read is said, and None."""
    from dld.apis.image_input import read_image_file
    from dld.datasets import BasePlateDataset
    from dld.engine.launch import config_reads_folder
    from dld.registry import DATASETS
    key = f'{split}_dataloader'
    if cfg is None or not cfg.get(key):
        return None
    for synth_key in ('synth_plates', 'train_synth_plates'):
        synth = cfg.get(synth_key)
        if synth and (synth_key == 'synth_plates' or split == 'train') and config_reads_folder(
                cfg, synth.get('data_root', 'data/synth_plates'), (key, )):
            return None  # generated plates are its own
    dataset = dict(cfg[key].get('dataset') or {})
    while 'datasets' in dataset or 'dataset' in dataset:  # a concatenation: its first set
        inner = dataset.get('datasets') or [dataset.get('dataset')]
        dataset = dict(inner[0] or {})
    kind = DATASETS.get(dataset.get('type', ''))
    if not (isinstance(kind, type) and issubclass(kind, BasePlateDataset)):
        return None  # rendered when read, or a set of one's own kind: not files to list
    try:  # the set as the config reads it: its type, data_root and dictionary
        built = DATASETS.build(dict(dataset, pipeline=[], test_mode=True, frames='all',
                                    load_hr=frame == 'hr',
                                    check_files=False, serialize_data=False))
        idxs = range(len(built))
        if len(idxs) > count:
            idxs = [int(k * len(idxs) / count) for k in range(count)]
        infos = [built.get_data_info(i) for i in idxs]
    except Exception as err:  # noqa: BLE001 - any set that cannot be read: said, then plates
        print(f"export_onnx.py: the config's {split} set cannot be read ({err}): generated "
              'plates are used instead; give images like yours', file=sys.stderr)
        return None
    images, labels = [], []
    for info in infos:
        path = info.get(f'{frame}_path')
        try:
            images.append(read_image_file(path))
            labels.append(info.get('gt_text') or None)
        except (TypeError, ValueError):
            continue  # a frame of the set it cannot read (or none): the others are enough
    if not images:
        print(f"export_onnx.py: no {frame.upper()} frame of the config's {split} set could "
              'be read: generated plates are used instead', file=sys.stderr)
        return None
    what = f"{_count(len(images), frame.upper() + ' frame')} of the config's {split} set"
    return images, (labels if None not in labels else None), what


def _read_images(paths, option: str, limit: Optional[int] = None):
    """The images of ``paths`` (files or folders); with ``limit``, at most
    that many, evenly spaced over them (a folder of 50000 crops is not
    read whole). A file named that cannot be read is refused; one found in
    a folder is skipped and counted."""
    from dld.apis.image_input import list_image_folder, read_image_file
    files = []  # (path, whether it was named)
    for path in paths:
        files += [(path, True)] if not osp.isdir(path) else \
            [(name, False) for name in list_image_folder(path)]
    if limit is not None and len(files) > limit:
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    images, skipped = [], []
    for path, named in files:
        try:
            images.append(read_image_file(path))
        except ValueError as err:
            if named:
                raise  # it names the file
            skipped.append(str(err))
    if skipped:
        print(f'export_onnx.py: {len(skipped)} file(s) of {option} skipped (cannot be '
              f'read), e.g. {skipped[0]}', file=sys.stderr)
    if not images:
        raise ValueError(f'{option} {" ".join(paths)}: no images found')
    return images


def _calibration_images(args, frame: str, cfg=None):
    """The images to calibrate the int8 graphs on, and their description:
    ``--calib-images``; else the config's own training images where it
    reads no generated plates; else generated plates of the crop the model
    reads."""
    from dld.deploy.onnx_export import synthetic_plates
    own = None if args.calib_images else _config_set_images(
        cfg, 'train', frame, args.calib_count)
    if args.calib_images:
        images = _read_images(args.calib_images, '--calib-images', limit=args.calib_count)
        what = _count(len(images), 'image') + ' of --calib-images'
    elif own is not None:  # the training set's: never the test images it is checked on
        images, _, what = own
    else:  # seed 1: not the plates the check reads (seed 0)
        images, _ = synthetic_plates(args.calib_count, seed=1, frame=frame)
        what = _count(args.calib_count, f'generated {frame.upper()} plate')
    if len(images) < FEW_CALIBRATION_IMAGES:
        print(f'export_onnx.py: calibrating on {what} only: the activation ranges of so few '
              'may clip other plates; give a few hundred', file=sys.stderr)
    return images, what


def _count(n: int, noun: str) -> str:
    return f'{n} {noun}' + ('' if n == 1 else 's')


def _int8_check_images(args, frame: str, check_images, cfg=None):
    """The images the int8 export is checked on, their labels (None for
    ``--check-images``, or a set without labels) and their description."""
    from dld.deploy.onnx_export import synthetic_plates
    if args.check_images:
        return check_images, None, _count(len(check_images), 'image') + ' of --check-images'
    count = args.check_count or INT8_CHECK_COUNT
    own = _config_set_images(cfg, 'test', frame, count)
    if own is not None:
        return own
    images, labels = synthetic_plates(count, seed=0, frame=frame)
    return images, labels, _count(count, f'generated {frame.upper()} plate')


def _int8_verdict(result: dict, what: str, max_drop: float):
    """``(loss, sentence)``: what the int8 export loses against the float
    one (accuracy points with labels, else the share of readings changed)
    and how to say it."""
    changed = f"{result['changed']} of {result['images']} readings changed"
    if result['accuracy'] is not None:
        a, b = result['accuracy']['float32']['model'], result['accuracy']['int8']['model']
        return a - b, (f'on {what} the int8 export reads {b:.2f} % of plates, the float one '
                       f'{a:.2f} % ({changed}; --int8-max-drop {max_drop:g} pt)')
    share = 100.0 * result['changed'] / max(result['images'], 1)
    return share, (f'on {what} {changed} ({share:.2f} %; --int8-max-drop {max_drop:g} %, '
                   'no labels to measure accuracy by)')


def _print_summary(manifest: dict, out_dir: str) -> None:
    from tabulate import tabulate
    teacher = manifest['teacher_gflops']
    rows = [[f"{s['scale']:g}", s['file'], f"{s['gflops']:.4f}",
             f"{100 * (1 - s['gflops'] / teacher):.1f}",
             f"{osp.getsize(osp.join(out_dir, s['file'])) / 1e6:.2f}"]
            for s in manifest['scales']]
    if manifest['selector']:
        sel = manifest['selector']
        rows.append(['selector', sel['file'], f"{sel['gflops']:.5f}", '',
                     f"{osp.getsize(osp.join(out_dir, sel['file'])) / 1e6:.2f}"])
    # the digits as formatted (tabulate's parsing printed 0.70 MB as 0.7, 0.00006 as 6e-05),
    # as tools/analysis/get_flops.py prints its table
    print(tabulate(rows, headers=['scale', 'file', 'GFLOPs', 'saved vs teacher (%)', 'MB'],
                   disable_numparse=True, colalign=('left', 'left', 'right', 'right', 'right')))
    how = ('The selector picks each image\'s scale' if manifest['selector'] else
           f"Every image is read at scale {manifest['fixed_scale']:g}")
    bias = (manifest['selector'] or {}).get('bias')
    if bias:
        how += (' (its logits shifted by selector_bias '
                f"[{', '.join(f'{b:g}' for b in bias)}])")
    reread = manifest['reread']
    if reread:
        how += (f"; a reading below {reread['min_score']:g} confidence is read again at "
                f"{', '.join(f'{s:g}' for s in sorted(reread['scales']))}")
    inp = manifest['input']
    h, w = inp['size']
    resize = (f'scaled to height {h} and padded on the right to {h}x{w}' if inp['keep_ratio']
              else f'resized to {h}x{w}')
    print(f"{how}. It reads the {inp['frame'].upper()} crop, {resize}; its "
          f"{manifest['decoder']['kind']} decoder reads greedily.")


def newest_onnx_opset() -> Optional[int]:
    """The newest opset the installed onnx package knows; None without it
    (the export then says it needs it)."""
    try:
        from onnx.defs import onnx_opset_version
    except ImportError:
        return None
    return int(onnx_opset_version())


def _staging_prefix(name: str) -> str:
    """``.NAME.partial-HOST-PID-``: the machine and process that stage an
    export of ``name``, so a later export knows a folder of a dead one (an
    export on another machine, writing to a shared folder, is not its to
    judge)."""
    host = re.sub(r'[^\w.]', '_', socket.gethostname())
    return f'.{name}.partial-{host}-{os.getpid()}-'


#: A staging folder of another export name is removed only when untouched
#: this long: containers sharing a hostname (not process ids) cannot judge
#: each other's exports by pid alone, and no export takes hours.
OTHER_STAGING_AGE_S = 6 * 3600


def _remove_stale_staging(parent: str, name: str) -> None:
    """Remove the staging folders killed exports on this machine left in
    ``parent`` (of a process no longer running), and their ``--int8`` float
    copies, said: ``kill -9`` left one (a graph's size) that nothing
    removed. Those of another export name only once untouched for
    :data:`OTHER_STAGING_AGE_S`."""
    import time
    mine, host = _staging_prefix(name).rsplit('-', 2)[0].rsplit('.partial-', 1)
    pattern = re.compile(rf'^(\..+)\.partial-{re.escape(host)}-(\d+)-\w+(?:\.float)?$')
    for entry in sorted(os.listdir(parent)):
        found = pattern.match(entry)
        path = osp.join(parent, entry)
        if not found or not osp.isdir(path) or osp.islink(path) or _running(int(found[2])):
            continue
        if found[1] != mine and time.time() - os.stat(path).st_mtime < OTHER_STAGING_AGE_S:
            continue
        shutil.rmtree(path, ignore_errors=True)
        print(f'export_onnx.py: removed {path}, left by an export that was stopped',
              file=sys.stderr)


ON_WINDOWS = sys.platform == 'win32'


def _running(pid: int) -> bool:
    """Whether a process of that id runs (on this machine). On Windows
    ``os.kill(pid, 0)`` is no test: signal 0 is CTRL_C_EVENT there, a Ctrl-C
    sent to that process group (any other number, TerminateProcess),
    whichever program has the id now; the system is asked instead, and a
    process it cannot tell of is taken as running."""
    if ON_WINDOWS:
        return _running_on_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _running_on_windows(pid: int) -> bool:
    import ctypes
    try:
        kernel32 = ctypes.WinDLL('kernel32', use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER: no such process
        try:
            code = ctypes.c_ulong()
            return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or \
                code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except (AttributeError, OSError):
        return True  # its folder is kept: nothing is ended, nothing removed


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.utils.one_process import refuse_several_processes
    if refuse_several_processes('export_onnx.py'):
        return 2
    # a link to the version in use ('current -> v1') stays a link: the new
    # export replaces the folder it points to
    given = args.out_dir.rstrip(os.sep) or args.out_dir  # 'current/' names the link too
    out_dir = osp.realpath(given) if osp.islink(given) else given
    problem = _out_dir_problem(out_dir, args.force)
    if problem:
        print(f'export_onnx.py: {problem}', file=sys.stderr)
        return 2
    from dld.apis import PlateRecognizer, load_config
    from dld.deploy import onnx_reader
    from dld.deploy.onnx_export import ExportError, compare_readings, export_onnx
    from dld.deploy.onnx_reader import MANIFEST
    from dld.engine.launch import config_errors_exit
    from dld.utils.atomic_file import write_json_atomic
    from dld.utils.shown_paths import below
    try:
        with contextlib.redirect_stdout(sys.stderr), config_errors_exit('export_onnx.py'):
            cfg = load_config(args.config, args.cfg_options)
            recognizer = PlateRecognizer(cfg, args.checkpoint, device='cpu')
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, ImportError,
            pickle.UnpicklingError) as err:  # a checkpoint refused as unsafe
        print(f'export_onnx.py: cannot load the model: {err}', file=sys.stderr)
        return 2
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)  # only now: a model that does not load leaves none
    _remove_stale_staging(parent, osp.basename(osp.abspath(out_dir)))
    staging = tempfile.mkdtemp(prefix=_staging_prefix(osp.basename(osp.abspath(out_dir))),
                               dir=parent)
    _permit_as_umask(staging)
    float_copy = None
    try:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                check = images = None
                # read first: a bad path fails before the export
                frame = recognizer.input_stream
                if not args.no_check:
                    images, what = _check_images(args, cfg, frame)
                if args.int8:
                    calibration, calib_what = _calibration_images(args, frame, cfg)
                    if not args.no_check:
                        images8, labels8, what8 = _int8_check_images(args, frame, images, cfg)
                manifest = export_onnx(recognizer, staging, args.scales, args.opset)
                if not args.no_check:
                    check = compare_readings(recognizer, staging, images)
        except (ExportError, OSError, ValueError) as err:
            if isinstance(err, OSError) and err.filename is None and err.strerror:
                # a full disk as a graph is saved: "[Errno 28] No space left on
                # device" named no file (the staging folder is removed below)
                err = f'cannot write the export into {out_dir}: {err.strerror}'
            print(f'export_onnx.py: {err}', file=sys.stderr)
            return 2
        if check is not None and check['differ']:
            _leave_unverified(staging, out_dir, (
                f"{check['readings'] - check['same']} of the {check['readings']} readings of "
                f"the {what} (as the model reads them, then at each scale) differ from "
                f"PyTorch's (first: {check['differ'][:3]})"))
            return 1
        int8_line = None
        if args.int8:
            import torch

            from dld.deploy.onnx_quantize import compare_precisions, quantize_export
            float_copy = f'{staging}.float'
            shutil.copytree(staging, float_copy)
            try:
                manifest = quantize_export(staging, calibration, calib_what)
                if not args.no_check:
                    result = compare_precisions(float_copy, staging, images8, labels8,
                                                threads=torch.get_num_threads())
            except (OSError, ValueError) as err:
                print(f'export_onnx.py: the int8 export or its check failed: {err}',
                      file=sys.stderr)
                return 2
            if not args.no_check:
                loss, int8_line = _int8_verdict(result, what8, args.int8_max_drop)
                manifest['int8']['check'] = dict(result, on=what8)
                write_json_atomic(osp.join(staging, MANIFEST), manifest, indent=2,
                                  ensure_ascii=False)
                if loss > args.int8_max_drop + 1e-9:  # 1 plate of 300 is 1 pt, not 1.0000001
                    step = 100.0 / max(result['images'], 1)
                    few = (f" (of {result['images']} images one reading is {step:.3g} pt, so "
                           'a set this small cannot tell a loss under that)'
                           if step > args.int8_max_drop else '')
                    _leave_unverified(staging, out_dir, (
                        f'{int8_line}: more than it may lose{few}. Calibrate on plates like '
                        'yours (--calib-images), allow more (--int8-max-drop) or export '
                        'without --int8'))
                    return 1
        _move_into_place(staging, out_dir)
    finally:
        for folder in (staging, float_copy):
            if folder and osp.isdir(folder):
                shutil.rmtree(folder, ignore_errors=True)
    _print_summary(manifest, args.out_dir)
    if check is not None:
        print(f"checked on {what}, as the model reads them and at each exported scale "
              f"({'all ' if check['graphs'] > 1 else ''}{_count(check['graphs'], 'graph')} "
              "ran): the same text and scale as PyTorch for "
              f"every one, confidences within {check['max_score_diff']:.1e}")
    if args.int8:
        print(f"int8: the convolutions of each scale's graph, calibrated on {calib_what}; "
              + (int8_line or 'not checked (--no-check)'))
    print(f'exported to {args.out_dir}; read with: python {below(onnx_reader.__file__)} '
          f'{args.out_dir} IMAGE ...')
    return 0


def _permit_as_umask(folder: str) -> None:
    """The permissions ``mkdir`` would give ``folder``: ``mkdtemp`` makes it
    0700, and the export it becomes is read by a service of another user."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)


def _leave_unverified(staging: str, out_dir: str, why: str) -> None:
    """Move the export that failed its check aside, saying why."""
    unverified = f'{osp.abspath(out_dir)}.unverified'
    if osp.lexists(unverified) and (not osp.isdir(unverified) or osp.islink(unverified) or set(
            os.listdir(unverified)) - _export_files(unverified)):
        # not an earlier unverified export alone: kept, and this one beside it
        unverified = tempfile.mkdtemp(prefix=f'{osp.basename(unverified)}-',
                                      dir=osp.dirname(unverified))
        os.rmdir(unverified)
    shutil.rmtree(unverified, ignore_errors=True)
    os.rename(staging, unverified)
    print(f'export_onnx.py: {why}; it is left in {unverified}, not in {out_dir}',
          file=sys.stderr)


def _exit_on_sigterm(signum, frame):
    # SystemExit unwinds main's cleanup: no partial export is left behind
    sys.exit(128 + signum)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print('export_onnx.py: interrupted (an unfinished export is removed)', file=sys.stderr)
        sys.exit(130)
