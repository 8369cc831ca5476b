"""Compare the look of LR plate crops: your camera's against DLD's synthetic ones.

    python tools/analysis/compare_degradation.py real=my_crops/ synth=data/synth_plates/train.txt
    python tools/analysis/compare_degradation.py real=my_crops/ \\
        --render 300 --degradation '{"gaussian_sigma": [1.5, 2.5], "jpeg_quality": [15, 40]}' \\
        --sheet sheet.png

Each SET is ``[NAME=]PATH``: a folder (its images, in sub-folders too; only
the ``lr-*`` frames where it holds some, as track folders do), or a paired
label file (its LR frames, read from ``--data-root`` or the file's folder).
``--render N`` adds a set ``render`` of N LR frames rendered as
``OnlineSynthPlateDataset`` renders them, with the ``--degradation``
overrides (the ``DegradationConfig`` fields, docs/datasets.md): change
them until its row reads like your camera's.

Per set, the median and the 10th-90th percentile of each image's: width and
height (px), brightness (mean grey, 0-255), saturation (mean HSV S, 0-255),
sharpness (mean |Laplacian| over mean |d/dx|: about 2.9 for a default LR
frame without blur, 2.3 after gaussian_sigma 2, 1.7 after 4), noise
(Immerkaer's estimate on the flattest fifth of the image, in grey levels;
a clean small plate reads about 2.5, JPEG and blur lower it, so it measures
what the image shows, not noise_sigma), blockiness (the 8x8 JPEG
grid's edge strength over the other columns': 1 none, more is stronger JPEG)
and, for JPEG files, the quality their quantisation table says (that file's
own encoding, not earlier ones). ``--sheet PNG`` writes a contact sheet: a
row of frames per set, at 2x; ``--json FILE`` every figure.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import os.path as osp
import sys

from dld.utils.crop_stats import contact_sheet, image_stats, spread  # noqa: F401  (shared)

STATS = ('width', 'height', 'brightness', 'saturation', 'sharpness', 'noise', 'blockiness',
         'jpeg_quality')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 2)[2])
    p.add_argument('sets', nargs='*', metavar='[NAME=]PATH',
                   help='a folder of crops or a paired label file')
    p.add_argument('--data-root', help="where a label file's relative paths are read "
                   "(default: the label file's folder)")
    p.add_argument('--render', type=int, default=0, metavar='N',
                   help='add N synthetic LR frames rendered with --degradation (set "render")')
    p.add_argument('--degradation', default=None,
                   help='JSON object of DegradationConfig overrides for --render')
    p.add_argument('--hr-size', type=int, nargs=2, default=(64, 192), metavar=('H', 'W'),
                   help='HR size the rendered plates are drawn at, before their degradation '
                   '(default 64 192, as the synthetic sets)')
    p.add_argument('--seed', type=int, default=0, help='seed of the rendered plates')
    p.add_argument('--max-images', type=int, default=500,
                   help='read at most this many images a set, evenly spread (default 500)')
    p.add_argument('--sheet', help='write a contact sheet (PNG) of each set')
    p.add_argument('--json', help='write every figure to this JSON file')
    a = p.parse_args(argv)
    if not a.sets and not a.render:
        p.error('give at least one set, or --render N')
    if a.render < 0 or a.max_images < 1:
        p.error('--render must be >= 0 and --max-images >= 1')
    if a.degradation is not None:
        try:
            a.degradation = json.loads(a.degradation)
        except ValueError as err:
            p.error(f'--degradation is not valid JSON ({err})')
        if not isinstance(a.degradation, dict):
            p.error('--degradation needs a JSON object such as \'{"scale": [0.2, 0.3]}\'')
        from dld.datasets.degradation import DegradationConfig
        try:  # a bad value is a bad argument (exit 2), refused before any set is read
            DegradationConfig.from_dict(a.degradation)
        except ValueError as err:
            p.error(f'--degradation: {err}')
    names = []
    for i, spec in enumerate(a.sets):
        name, sep, path = spec.partition('=')
        if not sep or osp.exists(spec):
            name, path = osp.basename(osp.normpath(spec)) or f'set{i + 1}', spec
        if not osp.exists(path):
            p.error(f'{path}: no such folder or file')
        names.append((name, path))
    if a.render:
        names.append(('render', None))
    if len({n for n, _ in names}) != len(names):
        p.error('each set needs its own name: give NAME=PATH')
    a.sets = names
    return a


def set_paths(path: str, data_root=None):
    """The image files of a folder or a paired label file, sorted."""
    if osp.isdir(path):
        # as the datasets and inference walk a folder: its image endings, linked
        # folders once, no hidden folder (.ipynb_checkpoints' copies)
        from dld.datasets.transforms.loading import IMAGE_EXTENSIONS
        from dld.utils.folder_walk import walk_following_links
        found = sorted(osp.join(d, f) for d, _, files in walk_following_links(path)
                       for f in files if f.lower().endswith(IMAGE_EXTENSIONS))
        lr = [f for f in found if osp.basename(f).startswith('lr-')]
        other = [f for f in found if not osp.basename(f).startswith(('lr-', 'hr-'))]
        if lr and other:  # a folder of crops with a stray lr-* file: say what is left out
            print(f'compare_degradation.py: note: {path}: its {len(lr)} lr-* frame(s) read, '
                  f'as track folders are; its {len(other)} other image(s) (not lr-*/hr-*) '
                  f'left out, e.g. {other[0]}', file=sys.stderr)
        return lr or found
    # read as the sets read it (its bad lines skipped: check_data.py lists them)
    from mmengine.dataset import BaseDataset

    from dld.datasets import PairedPlateDataset
    root = data_root or osp.dirname(osp.abspath(path))
    dataset = PairedPlateDataset(data_root=root, ann_file=osp.abspath(path), test_mode=True,
                                 frames='all', strict=False)
    return [p for i in range(len(dataset))
            for p in BaseDataset.get_data_info(dataset, i)['lr_paths'] if p]


def jpeg_file_quality(path):
    """The IJG quality of a JPEG file's luminance table (None: not JPEG)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            tables = getattr(im, 'quantization', None)
    except OSError:
        return None
    if not tables or 0 not in tables:
        return None
    import numpy as np
    base = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
                     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
                     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
                    np.float64)
    table = np.sort(np.asarray(tables[0], np.float64))
    best = min(range(1, 101), key=lambda q: np.abs(np.sort(np.clip(np.floor(
        (base * (5000 / q if q < 50 else 200 - 2 * q) + 50) / 100), 1, 255)) - table).sum())
    return float(best)


def read_set(name, path, a):
    """``(images, figures)`` of a set: up to ``--max-images`` images."""
    import numpy as np
    if path is None:  # rendered
        from dld.datasets.degradation import DegradationConfig
        from dld.datasets.synth.generator import render_track, resolve_layouts
        cfg = DegradationConfig.from_dict(a.degradation)  # checked in parse_args
        layouts, weights = resolve_layouts(('brazilian', 'mercosur'), None)
        images = [render_track((a.seed, 7, i), layouts, weights, 1, tuple(a.hr_size),
                               cfg)['lr'][0] for i in range(min(a.render, a.max_images))]
        files = [None] * len(images)
    else:
        try:
            files = spread(set_paths(path, a.data_root), a.max_images)
        except (ValueError, OSError) as err:  # a label file the sets refuse (no track,
            # missing images: PlateAnnotationError, ImageLoadError)
            raise SystemExit(f'compare_degradation.py: set {name} ({path}): '
                             f'{str(err).splitlines()[0]}') from None
        # decoded as training decodes them (EXIF, a 16-bit file of 8-bit values
        # as it is: OpenCV's imread read it black)
        from dld.datasets.errors import ImageLoadError
        from dld.datasets.transforms.loading import read_plate_image
        images = []
        for f in files:
            try:
                images.append(read_plate_image(f))
            except ImageLoadError as err:
                raise SystemExit(f'compare_degradation.py: set {name}: {err}') from None
        if not images:
            raise SystemExit(f'compare_degradation.py: set {name} ({path}) holds no image')
    rows = []
    for img, f in zip(images, files):
        row = image_stats(img)
        q = jpeg_file_quality(f) if f and f.lower().endswith(('.jpg', '.jpeg')) else None
        row['jpeg_quality'] = float('nan') if q is None else q
        rows.append(row)
    figures = {}
    for key in STATS:
        v = np.array([r[key] for r in rows])
        v = v[~np.isnan(v)]
        figures[key] = (None if v.size == 0 else
                        dict(median=float(np.median(v)), p10=float(np.percentile(v, 10)),
                             p90=float(np.percentile(v, 90))))
    return images, dict(images=len(rows), **figures)


def table(results: dict) -> str:
    from tabulate import tabulate
    names = list(results)
    rows = []
    for key in STATS:
        digits = 2 if key in ('sharpness', 'blockiness') else 1
        rows.append([key] + [
            '-' if results[n][key] is None else
            f'{results[n][key]["median"]:.{digits}f} [{results[n][key]["p10"]:.{digits}f}-'
            f'{results[n][key]["p90"]:.{digits}f}]' for n in names])
    return tabulate(rows, headers=['figure'] + [f'{n} ({results[n]["images"]})'
                                                for n in names],
                    tablefmt='github', disable_numparse=True)


def main(argv=None) -> None:
    a = parse_args(argv)
    images, results = {}, {}
    for name, path in a.sets:
        images[name], results[name] = read_set(name, path, a)
    print(table(results))
    if a.sheet:
        import cv2
        if not cv2.imwrite(a.sheet, contact_sheet(images)):
            raise SystemExit(f'compare_degradation.py: cannot write {a.sheet}')
        print(f'contact sheet: {a.sheet}')
    if a.json:
        from dld.utils.atomic_file import write_json_atomic
        write_json_atomic(a.json, results, indent=1)
        print(f'figures: {a.json}')


if __name__ == '__main__':
    sys.exit(main())
