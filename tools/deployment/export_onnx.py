"""Export a DLD student and its selector (or a plain recognizer) to ONNX.

    python tools/deployment/export_onnx.py CONFIG CKPT --out-dir DIR
        [--scales S ...] [--opset N] [--check-images PATH ...]
        [--check-count N] [--no-check] [--force] [--cfg-options key=value ...]

Writes one graph per scale, the selector's and ``dld_onnx.json`` into DIR,
then reads check images with the export (``dld/deploy/onnx_reader.py``,
ONNX Runtime, no PyTorch) and with ``PlateRecognizer`` and compares them:
by default 64 plates of the built-in generator, or ``--check-images``
(image files or folders). The export is put in place only when every
reading agrees; otherwise it is left in ``DIR.unverified`` and the tool
exits with status 1. See docs/deployment.md.
"""
import argparse
import contextlib
import os
import os.path as osp
import shutil
import sys
import tempfile

from dld.cli_options import ConfigOptionsAction


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
                        'plates of the built-in generator)')
    parser.add_argument('--check-count', type=int, default=64,
                        help='generated plates to compare on without --check-images')
    parser.add_argument('--no-check', action='store_true',
                        help='write the export without comparing readings')
    parser.add_argument('--force', action='store_true',
                        help='replace an export already in --out-dir')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, e.g. model.test_cfg.reread')
    args = parser.parse_args(argv)
    if args.opset < 18:
        parser.error(f'--opset must be >= 18 (antialiased Resize), got {args.opset}')
    if args.check_count < 1:
        parser.error(f'--check-count must be >= 1, got {args.check_count}')
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
    parent = osp.dirname(osp.abspath(out_dir))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as err:
        return f'--out-dir {out_dir}: cannot create {parent}: {err.strerror}'
    if not os.access(parent, os.W_OK | os.X_OK):
        return f'--out-dir {out_dir}: {parent} is not writable'
    return ''


def _move_into_place(staging: str, out_dir: str) -> None:
    """``staging`` becomes ``out_dir``; an export there is removed only once
    the new one is in place."""
    old = None
    if osp.isdir(out_dir):
        old = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.old-',
                               dir=osp.dirname(osp.abspath(out_dir)))
        os.rmdir(old)
        os.rename(out_dir, old)
    os.rename(staging, out_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _check_images(args):
    """The images to compare the readers on, and their description. A file
    named that cannot be read is refused; one found in a folder is skipped
    and counted."""
    from dld.apis.image_input import list_image_folder, read_image_file
    from dld.deploy.onnx_export import synthetic_check_images
    if not args.check_images:
        return synthetic_check_images(args.check_count), f'{args.check_count} generated plates'
    images, skipped = [], []
    for path in args.check_images:
        if not osp.isdir(path):
            images.append(read_image_file(path))  # raises, naming it
            continue
        for name in list_image_folder(path):
            try:
                images.append(read_image_file(name))
            except ValueError as err:
                skipped.append(str(err))
    if skipped:
        print(f'export_onnx.py: {len(skipped)} file(s) of --check-images skipped (cannot be '
              f'read), e.g. {skipped[0]}', file=sys.stderr)
    if not images:
        raise ValueError(f'--check-images {" ".join(args.check_images)}: no images found')
    return images, f'{len(images)} images of --check-images'


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
    print(tabulate(rows, headers=['scale', 'file', 'GFLOPs', 'saved vs teacher (%)', 'MB']))
    how = ('The selector picks each image\'s scale' if manifest['selector'] else
           f"Every image is read at {manifest['fixed_scale']:g}")
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


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = _out_dir_problem(args.out_dir, args.force)
    if problem:
        print(f'export_onnx.py: {problem}', file=sys.stderr)
        return 2
    from dld.apis import PlateRecognizer, load_config
    from dld.deploy.onnx_export import ExportError, compare_readings, export_onnx
    from dld.engine.launch import config_errors_exit
    try:
        with contextlib.redirect_stdout(sys.stderr), config_errors_exit('export_onnx.py'):
            cfg = load_config(args.config, args.cfg_options)
            recognizer = PlateRecognizer(cfg, args.checkpoint, device='cpu')
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, ImportError) as err:
        print(f'export_onnx.py: cannot load the model: {err}', file=sys.stderr)
        return 2
    parent = osp.dirname(osp.abspath(args.out_dir))
    staging = tempfile.mkdtemp(prefix=f'.{osp.basename(osp.abspath(args.out_dir))}.partial-',
                               dir=parent)
    try:
        try:
            with contextlib.redirect_stdout(sys.stderr):
                check = None
                if not args.no_check:  # read first: a bad path fails before the export
                    images, what = _check_images(args)
                manifest = export_onnx(recognizer, staging, args.scales, args.opset)
                if not args.no_check:
                    check = compare_readings(recognizer, staging, images)
        except (ExportError, OSError, ValueError) as err:
            print(f'export_onnx.py: {err}', file=sys.stderr)
            return 2
        if check is not None and check['differ']:
            unverified = f'{osp.abspath(args.out_dir)}.unverified'
            shutil.rmtree(unverified, ignore_errors=True)
            os.rename(staging, unverified)
            print(f"export_onnx.py: {check['readings'] - check['same']} of the "
                  f"{check['readings']} readings of the {what} (as the model reads them, then "
                  f"at each scale) differ from PyTorch's (first: "
                  f"{check['differ'][:3]}); it is left in {unverified}, not in "
                  f'{args.out_dir}', file=sys.stderr)
            return 1
        _move_into_place(staging, args.out_dir)
    finally:
        if osp.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
    _print_summary(manifest, args.out_dir)
    if check is not None:
        print(f"checked on {what}, as the model reads them and at each exported scale "
              f"(all {check['graphs']} graphs ran): the same text and scale as PyTorch for "
              f"every one, confidences within {check['max_score_diff']:.1e}")
    print(f'exported to {args.out_dir}; read with: python dld/deploy/onnx_reader.py '
          f'{args.out_dir} IMAGE ...')
    return 0


if __name__ == '__main__':
    sys.exit(main())
