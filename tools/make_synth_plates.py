"""Render the synthetic LR/HR licence-plate dataset.

Example::

    python tools/make_synth_plates.py data/synth_plates --tracks 1500 --frames 5 --seed 0

Writes ``{train,val,test}/track_XXXXX/{lr,hr}-00K.png`` (+ ``annotations.json``,
so the folders also read as the ICPR LRLPR layout) and ``train.txt``,
``val.txt``, ``test.txt`` in the paired format. The same arguments give the
same bytes. A folder that already holds this set is left as it is, one
holding another set is refused unless ``--overwrite``; an interrupted run
leaves no split a dataset would read.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import os
import sys


def _json_object(text: str) -> dict:
    """``--degradation``'s type: a JSON object, or argparse's usage error."""
    try:
        value = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f'not valid JSON ({err}): {text!r}') from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f'needs a JSON object such as \'{{"scale": [0.2, 0.3]}}\', got {text!r}')
    return value


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out', help='output folder')
    p.add_argument('--tracks', type=int, default=1500, help='train tracks (default 1500)')
    p.add_argument('--val-tracks', type=int, default=None,
                   help='default: 10%% of --tracks, at least 1')
    p.add_argument('--test-tracks', type=int, default=None,
                   help='default: 20%% of --tracks, at least 1')
    p.add_argument('--frames', type=int, default=5, help='frames per track (default 5)')
    p.add_argument('--seed', type=int, default=0,
                   help='the same seed makes the same set, image for image (default 0)')
    p.add_argument('--layouts', nargs='+', default=['brazilian', 'mercosur'],
                   help="layout names or patterns ('L' letter, 'N' digit, 'A' either, "
                   "other characters printed only, '/' splits two rows), e.g. brazilian "
                   "mercosur 'LL-NNNN' 'LLL/NNNN'")
    p.add_argument('--layout-weights', type=float, nargs='+', default=None,
                   help='one weight >= 0 per layout (default: equal)')
    p.add_argument('--hr-size', type=int, nargs=2, default=(64, 192), metavar=('H', 'W'),
                   help='size of the HR frames (default 64 192)')
    p.add_argument('--degradation', type=_json_object, default=None,
                   help='JSON dict of DegradationConfig overrides, e.g. \'{"scale": [0.2, 0.3]}\'')
    p.add_argument('--workers', type=int, default=0,
                   help='worker processes (0: this one); the output does not depend on it')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bar (none is drawn where stderr is no terminal)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace a set already in the folder (its train/val/test folders and '
                   'files and meta.json) instead of refusing')
    a = p.parse_args(argv)
    # Checked here, so that a wrong value is a usage error naming the option
    # (the generator's own checks are tracebacks, or OpenCV's for the size).
    for name in ('tracks', 'val_tracks', 'test_tracks', 'workers'):
        value = getattr(a, name)
        if value is not None and value < 0:
            p.error(f'--{name.replace("_", "-")} must be >= 0, got {value}')
    if a.frames < 1:
        p.error(f'--frames must be >= 1, got {a.frames}')
    if min(a.hr_size) < 1:
        p.error(f'--hr-size H W must both be >= 1, got {a.hr_size[0]} {a.hr_size[1]}')
    weights = a.layout_weights
    if weights is not None and (len(weights) != len(a.layouts) or min(weights) < 0
                                or sum(weights) <= 0):
        p.error(f'--layout-weights needs one weight >= 0 per layout ({len(a.layouts)}: '
                f'{" ".join(a.layouts)}), not all 0; got {" ".join(map(str, weights))}')
    from dld.utils.output_paths import unwritable_outputs
    # a file there (or above it), an unwritable place: it failed writing
    # OUT/.synth_partial, 'Not a directory', with status 1
    problems = unwritable_outputs(folders=[('the output folder', a.out)], create=False)
    if problems:
        p.error(problems[0])
    return a


def generate_synth_plates(*args, **kwargs) -> dict:
    """:func:`dld.datasets.synth.generate_synth_plates`, imported as it is
    called: it loads torch (seconds), which ``--help`` and a usage error do
    not wait for."""
    from dld.datasets.synth import generate_synth_plates as generate
    return generate(*args, **kwargs)


def _generate(a: argparse.Namespace) -> dict:
    return generate_synth_plates(
        a.out, tracks=a.tracks, val_tracks=a.val_tracks, test_tracks=a.test_tracks,
        frames=a.frames, seed=a.seed, layouts=a.layouts, layout_weights=a.layout_weights,
        hr_size=tuple(a.hr_size), degradation=a.degradation,
        # a bar's redraws on a terminal only: a pipe or CI log held each one
        progress=not a.no_progress and sys.stderr.isatty(), workers=a.workers,
        overwrite=a.overwrite)


def _left_in(out: str) -> str:
    """What a write that failed left in ``out``, as the disk shows it: the
    rendered tracks are removed only where the rendering failed; past it,
    they wait in the staging folder, or part of them took their place."""
    from dld.datasets.synth.generator import SPLITS, STAGING_DIR, synth_plates_present
    left = []
    staging = os.path.join(out, STAGING_DIR)
    if os.path.isdir(staging):
        left.append(f'the rendered tracks are left in {staging}, which the next run removes')
    splits = [s for s in SPLITS if os.path.isdir(os.path.join(out, s))]
    if splits and not synth_plates_present(out):
        left.append(f"{out} holds a set's {', '.join(splits)} folder(s) without every split "
                    'file, which no run reads as a set: make it again with --overwrite')
    return '; '.join(left) or 'the tracks rendered so far are removed'


def main(argv=None) -> None:
    a = parse_args(argv)
    try:
        stats = _generate(a)
    except (FileExistsError, ValueError) as err:
        # another set in --out, layouts, degradation: refused before anything is written
        print(f'make_synth_plates.py: {err}', file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as err:  # a full disk, a read-only folder: one line naming the file
        if os.environ.get('DLD_TRACEBACK', '') not in ('', '0'):
            raise
        name = err.filename if isinstance(err.filename, str) else a.out
        print(f'make_synth_plates.py: cannot write {name}: {err.strerror or err}; no set '
              f'written ({_left_in(a.out)})', file=sys.stderr)
        raise SystemExit(1) from None
    t = stats['tracks']
    if not stats['rendered']:  # the generator said so (logged)
        print('--overwrite renders them again.')
        return
    print(f"Wrote {t['train']}/{t['val']}/{t['test']} train/val/test tracks "
          f"({stats['images']} images) to {a.out} in {stats['seconds']:.1f} s "
          f"({stats['tracks_per_s']:.1f} tracks/s, "
          f"{stats['images'] / max(stats['seconds'], 1e-9):.0f} images/s)")


if __name__ == '__main__':
    main()
