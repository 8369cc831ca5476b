"""Writing a synthetic LR/HR plate dataset in the paired label format."""
import contextlib
import inspect
import json
import logging
import multiprocessing
import os
import os.path as osp
import shutil
import threading
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log
from tqdm import tqdm

from dld.utils.atomic_file import write_text_atomic
from dld.utils.file_lock import file_lock
from dld.utils.shown_paths import where

from ..degradation import DegradationConfig, degrade_plate
from ..errors import PlateSetExistsError
from .plate_text import (
    LAYOUTS,
    ROW_SEPARATOR,
    label_pattern,
    label_space,
    literal_chars,
    resolve_layout,
    sample_plate_text,
)
from .render import draw_plate, glyph_fingerprint, render_frame, sample_style, undrawable_chars

SPLITS = ('train', 'val', 'test')
#: Where tracks are rendered before they take their place (``out_dir/<this>``).
STAGING_DIR = '.synth_partial'
_SPLIT_CODE = {'train': 0, 'val': 1, 'test': 2}
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def _split_sizes(tracks: int, val_tracks: Optional[int],
                 test_tracks: Optional[int]) -> Dict[str, int]:
    sizes = dict(train=int(tracks),
                 val=max(1, tracks // 10) if val_tracks is None else int(val_tracks),
                 test=max(1, tracks // 5) if test_tracks is None else int(test_tracks))
    if any(v < 0 for v in sizes.values()):
        raise ValueError(f'Track counts must be >= 0, got {sizes}')
    return sizes


def _encode_png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode('.png', img, _PNG)
    if not ok:
        raise OSError('PNG encoding failed')
    return buf.tobytes()


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, 'wb') as f:
        f.write(data)


def resolve_layouts(layouts: Sequence[str], layout_weights: Optional[Sequence[float]] = None
                    ) -> Tuple[List[Tuple[str, str]], np.ndarray]:
    """``(name, pattern)`` of each layout and their sampling probabilities
    (uniform when ``layout_weights`` is None)."""
    resolved = [resolve_layout(layout) for layout in layouts]
    if not resolved:
        raise ValueError('Give at least one layout')
    for _, pattern in resolved:
        bad = undrawable_chars(literal_chars(pattern))
        if bad:  # drawn as '?', while the label would name them
            raise ValueError(
                f'Layout {pattern!r} prints {", ".join(map(repr, bad))}, which OpenCV '
                f'{cv2.__version__} cannot draw (it draws "?"): the label would name a '
                'character the plate does not show')
    w = np.ones(len(resolved)) if layout_weights is None else np.asarray(layout_weights, float)
    if w.shape != (len(resolved),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f'layout_weights {layout_weights} do not match layouts {layouts}')
    return resolved, w / w.sum()


def _check_label_space(num_tracks: int, layouts: Sequence[Tuple[str, str]],
                       weights: np.ndarray) -> None:
    """Raise ValueError when the layouts cannot draw ``num_tracks`` distinct
    labels: the redraw that keeps labels unique would never end."""
    drawn = {label_pattern(p): p for (_, p), wt in zip(layouts, weights) if wt > 0}
    space = label_space(list(drawn))  # overlapping patterns ('N', 'A') counted once
    if num_tracks > space:
        raise ValueError(
            f'{num_tracks} tracks need as many distinct labels, but the layouts '
            f'{list(drawn.values())} can draw only {space}; give fewer tracks or a layout '
            'with more slots')


def render_track(seed: Sequence[int], layouts: Sequence[Tuple[str, str]],
                 weights: np.ndarray, frames: int, hr_size: Tuple[int, int],
                 degradation: DegradationConfig, with_lr: bool = True) -> dict:
    """One track from its own seed: ``label``, ``layout`` and the ``hr`` and
    ``lr`` frames as ``(H, W, 3)`` uint8 BGR arrays.

    The LR frames are drawn after every HR frame, so ``with_lr=False`` (an
    empty ``lr`` list, for the settings where the student reads HR) leaves
    the label and the HR frames as they are.
    """
    rng = np.random.default_rng(list(seed))
    name, pattern = layouts[int(rng.choice(len(layouts), p=weights))]
    label, display = sample_plate_text(pattern, rng)
    style = sample_style(name, rng)
    plate = draw_plate(display, style, rng)
    hr = [render_frame(plate, style, rng, size=hr_size) for _ in range(frames)]
    if not with_lr:
        return dict(label=label, layout=name, hr=hr, lr=[])
    track_degradation = degradation.for_track(rng)
    lr = [degrade_plate(img, rng, track_degradation) for img in hr]
    return dict(label=label, layout=name, hr=hr, lr=lr)


def make_track(seed: Sequence[int], layouts: Sequence[Tuple[str, str]], weights: np.ndarray,
               frames: int, hr_size: Tuple[int, int],
               degradation: DegradationConfig) -> dict:
    """:func:`render_track` with the frames as PNG bytes (encoded here, so
    worker processes do the work)."""
    track = render_track(seed, layouts, weights, frames, hr_size, degradation)
    return dict(track, hr=[_encode_png(i) for i in track['hr']],
                lr=[_encode_png(i) for i in track['lr']])


def _make_track_star(args: tuple) -> dict:
    return make_track(*args)


def synth_meta(**generator_kwargs) -> dict:
    """The ``meta.json`` that :func:`generate_synth_plates` writes for these
    of its arguments (defaults filled in), as JSON gives it back (resolved
    patterns, normalised weights, lists for tuples), so two argument sets
    that render the same bytes compare equal. Unknown arguments raise
    ``TypeError``."""
    bound = inspect.signature(generate_synth_plates).bind(None, **generator_kwargs)
    bound.apply_defaults()
    a = bound.arguments
    resolved, w = resolve_layouts(a['layouts'], a['layout_weights'])
    meta = dict(generator='dld.datasets.synth',
                tracks=_split_sizes(a['tracks'], a['val_tracks'], a['test_tracks']),
                frames=int(a['frames']), seed=a['seed'], layouts=[p for _, p in resolved],
                layout_weights=w.tolist(), hr_size=[int(a['hr_size'][0]), int(a['hr_size'][1])],
                degradation=_degradation_meta(a['degradation']),
                glyphs=glyph_fingerprint())
    if any(ROW_SEPARATOR in p for _, p in resolved):
        # two-row layouts: a set of a '/' pattern made before '/' split rows
        # printed it, so it is not this one (one-row sets keep their meta.json)
        meta['row_separator'] = ROW_SEPARATOR
    return json.loads(json.dumps(meta))


#: Degradation parameters added after sets were made, with the value that
#: renders as before: left out of meta.json at that value, so older sets
#: still compare equal to the arguments that made them.
_DEGRADATION_ADDED = dict(track_jitter=None)


def _degradation_meta(degradation: Optional[dict]) -> dict:
    meta = vars(DegradationConfig.from_dict(degradation))
    return {k: v for k, v in meta.items()
            if not (k in _DEGRADATION_ADDED and v == _DEGRADATION_ADDED[k])}


def generate_synth_plates(out_dir: str,
                          tracks: int = 1500,
                          val_tracks: Optional[int] = None,
                          test_tracks: Optional[int] = None,
                          frames: int = 5,
                          seed: int = 0,
                          layouts: Sequence[str] = ('brazilian', 'mercosur'),
                          layout_weights: Optional[Sequence[float]] = None,
                          hr_size: Tuple[int, int] = (64, 192),
                          degradation: Optional[dict] = None,
                          progress: bool = True,
                          workers: int = 0,
                          overwrite: bool = False) -> dict:
    """Render a synthetic plate dataset into ``out_dir``.

    Layout::

        out_dir/{train,val,test}/track_00000/{hr,lr}-001.png ... annotations.json
        out_dir/{train,val,test}.txt   (paired format, paths relative to out_dir)
        out_dir/meta.json              (the arguments, for provenance)

    Every track is drawn from its own generator seeded by
    ``(seed, split, index)``, so the same arguments give the same bytes, and a
    split's content does not depend on the other splits' sizes. Labels are
    unique across the whole dataset (no test plate appears in train): a
    repeated label is redrawn from the seed ``(seed, split, index, attempt)``.

    Tracks are rendered into ``out_dir/.synth_partial/`` and moved into
    place when every one is written, then ``meta.json`` and the split files
    are written: an interrupted run leaves no split folder that a dataset
    would read as complete (the next run discards the staging folder). A
    set already in ``out_dir`` is kept as it is when it was made with the
    same arguments, and otherwise refused unless ``overwrite``, which
    removes its split folders and files once the new set is rendered:
    rendering over it would mix its frames with the new ones. Generators
    started at once in one folder take turns (a lock file beside it).

    Args:
        out_dir (str): output folder (created).
        tracks (int): train tracks; ``val_tracks``/``test_tracks`` default to
            10% and 20% of it.
        frames (int): frames per track (LR and HR each).
        seed (int): master seed.
        layouts (Sequence[str]): layout names (``'brazilian'``,
            ``'mercosur'``) or pattern strings (see
            :mod:`dld.datasets.synth.plate_text`); a ``/`` splits a
            two-row plate (``'LLL/NNNN'``), best given a crop of its
            shape, e.g. ``hr_size=(96, 112)``.
        layout_weights (Sequence[float] | None): sampling weights, uniform
            when None.
        hr_size (tuple[int, int]): HR crop ``(H, W)``.
        degradation (dict | None): :class:`DegradationConfig` overrides for the
            HR -> LR chain.
        progress (bool): show a tqdm bar.
        workers (int): worker processes rendering tracks (0: this process).
            The output does not depend on it.
        overwrite (bool): replace a set already in ``out_dir`` (its
            ``train``/``val``/``test`` folders and files and ``meta.json``;
            nothing else in the folder is touched).

    Returns:
        dict: ``tracks`` (per split), ``images``, ``seconds``,
        ``tracks_per_s``, ``rendered`` (False when ``out_dir`` already held
        this very set: same arguments, so the same bytes; nothing is done).
    """
    if frames < 1:
        raise ValueError(f'frames must be >= 1, got {frames}')
    sizes = _split_sizes(tracks, val_tracks, test_tracks)
    resolved, w = resolve_layouts(layouts, layout_weights)
    deg = DegradationConfig.from_dict(degradation)
    hr_size = (int(hr_size[0]), int(hr_size[1]))
    _check_label_space(sum(sizes.values()), resolved, w)
    meta = synth_meta(tracks=tracks, val_tracks=val_tracks, test_tracks=test_tracks,
                      frames=frames, seed=seed, layouts=layouts,
                      layout_weights=layout_weights, hr_size=hr_size, degradation=degradation)
    # One generator in a folder at a time: a second one would discard the
    # first one's staging folder under it.
    with _dir_lock(_lock_path(out_dir)):
        existing = _set_entries(out_dir)
        if existing and not overwrite:
            on_disk = _read_meta(out_dir)
            diffs = _meta_diffs(on_disk, meta)
            if synth_plates_present(out_dir) and not diffs:
                # a set made before meta.json recorded the glyphs: which fonts drew it
                # is not known, so its bytes are not promised
                same = ('same arguments, so the same bytes' if 'glyphs' in on_disk
                        else 'same arguments; made before the glyphs were recorded')
                print_log(f'{out_dir} already holds this set ({same}): nothing rendered.',
                          logger='current', level=logging.INFO)
                return dict(tracks=sizes, images=2 * frames * sum(sizes.values()),
                            seconds=0.0, tracks_per_s=0.0, rendered=False)
            # name what differs: a '/' pattern's set of an earlier version (which
            # printed the '/') is refused for the very command that made it
            differs = (f' ({"; ".join(diffs)})'
                       if diffs and (on_disk or {}).get('generator') == meta['generator']
                       else '')
            raise PlateSetExistsError(
                f'{out_dir} already holds a plate set ({", ".join(existing)}) made with other '
                f'arguments{differs} or not whole: rendering over it would mix its frames with '
                'the new ones. Give another folder, delete it, or replace it: '
                '`tools/make_synth_plates.py --overwrite`, overwrite=True in Python, '
                'synth_plates.overwrite=True in a config.')
        return _render_set(out_dir, sizes, resolved, w, frames, seed, hr_size, deg, meta,
                           existing, progress, workers)


def _render_set(out_dir: str, sizes: Dict[str, int], resolved: List[Tuple[str, str]],
                w: np.ndarray, frames: int, seed: int, hr_size: Tuple[int, int],
                deg: DegradationConfig, meta: dict, existing: List[str], progress: bool,
                workers: int) -> dict:
    """:func:`generate_synth_plates` once its arguments are checked and the
    folder is its own; ``existing`` (the set it replaces) goes at the end."""
    staging = osp.join(out_dir, STAGING_DIR)
    if osp.isdir(staging):  # an interrupted run's tracks: ours, never read
        shutil.rmtree(staging)
    os.makedirs(staging)
    start = time.perf_counter()
    jobs = [(split, i) for split in SPLITS for i in range(sizes[split])]

    def args(split: str, i: int, attempt: int = 0) -> tuple:
        return ((seed, _SPLIT_CODE[split], i, attempt), resolved, w, frames, hr_size, deg)

    taken: set = set()
    lines: Dict[str, List[str]] = {s: [] for s in SPLITS}
    bar = tqdm(total=len(jobs), desc='synth plates', unit='track', disable=not progress)
    pool = multiprocessing.get_context('spawn').Pool(workers) if workers > 0 else None
    try:
        results = (pool.imap(_make_track_star, [args(*j) for j in jobs], chunksize=8)
                   if pool is not None else (make_track(*args(*j)) for j in jobs))
        for (split, i), track in zip(jobs, results):
            attempt = 0
            while track['label'] in taken:  # keep labels unique; rare, so redo here
                attempt += 1
                track = make_track(*args(split, i, attempt))
            taken.add(track['label'])
            rel = f'{split}/track_{i:05d}'
            folder = osp.join(staging, rel)
            os.makedirs(folder, exist_ok=True)
            lr_names, hr_names = [], []
            for k, (lr, hr) in enumerate(zip(track['lr'], track['hr']), 1):
                _write_bytes(osp.join(folder, f'lr-{k:03d}.png'), lr)
                _write_bytes(osp.join(folder, f'hr-{k:03d}.png'), hr)
                lr_names.append(f'{rel}/lr-{k:03d}.png')
                hr_names.append(f'{rel}/hr-{k:03d}.png')
            ann = dict(plate_layout=icpr_layout_name(track['layout']),
                       plate_text=track['label'])
            write_text_atomic(osp.join(folder, 'annotations.json'), json.dumps(ann) + '\n')
            lines[split].append(f"{','.join(lr_names)}|{','.join(hr_names)}\t{track['label']}")
            bar.update(1)
    except OSError:
        # a full disk: the tracks rendered so far filled it, in a hidden
        # folder no run reads (a rerun would remove them first): gone now
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    bar.close()
    for name in existing:  # only with overwrite: the old set goes once the new one is whole
        path = osp.join(out_dir, name)
        shutil.rmtree(path) if osp.isdir(path) and not osp.islink(path) else os.remove(path)
    # meta.json before the splits: a set stopped from here on is known as
    # the generator's, which ensure_synth_plates may then replace.
    # the OpenCV that drew the glyphs, for the record (``glyphs`` is compared)
    write_text_atomic(osp.join(out_dir, 'meta.json'),
                      json.dumps(dict(meta, opencv=cv2.__version__), indent=2) + '\n')
    for split in SPLITS:
        os.makedirs(osp.join(staging, split), exist_ok=True)  # an empty split has its folder
        os.replace(osp.join(staging, split), osp.join(out_dir, split))
    os.rmdir(staging)
    # Split files last: their presence means "complete" to ensure_synth_plates.
    for split in SPLITS:
        write_text_atomic(osp.join(out_dir, f'{split}.txt'),
                          ''.join(ln + '\n' for ln in lines[split]))
    seconds = time.perf_counter() - start
    return dict(tracks=sizes, images=2 * frames * len(jobs), seconds=seconds,
                tracks_per_s=len(jobs) / max(seconds, 1e-9), rendered=True)


def _set_entries(out_dir: str) -> List[str]:
    """The names in ``out_dir`` that a generated set consists of."""
    names = [*SPLITS, *(f'{s}.txt' for s in SPLITS), 'meta.json']
    return [n for n in names if osp.lexists(osp.join(out_dir, n))]


def icpr_layout_name(layout: str) -> str:
    """``plate_layout`` as the ICPR release spells it (``'Brazilian'``); a
    custom pattern as given."""
    return layout.capitalize() if layout in LAYOUTS else layout


def _lock_path(data_root: str) -> str:
    """The lock file of a set's folder: beside it, so it is not in the set."""
    root = osp.abspath(data_root)
    return osp.join(osp.dirname(root), f'.{osp.basename(root)}.lock')


_thread_locks: Dict[str, threading.RLock] = {}
_held: Dict[str, int] = {}
_registry_lock = threading.Lock()


@contextlib.contextmanager
def _dir_lock(path: str) -> Iterator[None]:
    """Serialise generators started at once (parallel tests, several tools):
    across processes with ``flock``, across threads with a lock, and
    re-entrant in one thread (``ensure_synth_plates`` holds it around
    :func:`generate_synth_plates`, which takes it too)."""
    with _registry_lock:
        rlock = _thread_locks.setdefault(path, threading.RLock())
    with rlock:
        depth = _held.get(path, 0)
        _held[path] = depth + 1
        try:
            if depth:  # this thread holds the file lock already
                yield
            else:
                with file_lock(path):
                    yield
        finally:
            _held[path] -= 1


def synth_plates_present(data_root: str) -> bool:
    return all(osp.isfile(osp.join(data_root, f'{s}.txt')) for s in SPLITS)


def ensure_synth_plates(data_root: str = 'data/synth_plates', **generator_kwargs) -> bool:
    """Generate the synthetic set into ``data_root`` unless its split files
    exist. Returns whether it generated.

    ``generator_kwargs`` go to :func:`generate_synth_plates` (``progress``
    defaults to False here). An existing set made with other arguments is
    kept, with a warning naming the difference. A set without every split
    file (stopped before its end, or a file deleted) is replaced when its
    ``meta.json`` says this generator made it, and refused otherwise: the
    folder may hold someone's own data.
    """
    if synth_plates_present(data_root):
        _warn_if_stale(data_root, generator_kwargs)
        return False
    with _dir_lock(_lock_path(data_root)):
        if synth_plates_present(data_root):  # another process made it meanwhile
            _warn_if_stale(data_root, generator_kwargs)
            return False
        made_here = _made_here(data_root)
        missing = [f'{s}.txt' for s in SPLITS if not osp.isfile(osp.join(data_root, f'{s}.txt'))]
        if len(missing) == len(SPLITS):
            print_log(f'Synthetic plates not found in {where(data_root)}: generating them '
                      f'({generator_kwargs or "defaults"})', logger='current', level=logging.INFO)
        elif made_here:  # else the generator refuses: it may be data of someone's own
            print_log(f"The synthetic set in {where(data_root)} lacks {', '.join(missing)}: "
                      f'generating it again ({generator_kwargs or "defaults"})',
                      logger='current', level=logging.WARNING)
        kwargs = dict(progress=False, overwrite=made_here)
        kwargs.update(generator_kwargs)
        stats = generate_synth_plates(data_root, **kwargs)
    print_log(f'Generated {sum(stats["tracks"].values())} synthetic tracks '
              f'({stats["images"]} images) in {stats["seconds"]:.1f} s '
              f'({stats["tracks_per_s"]:.0f} tracks/s) into {data_root!r}',
              logger='current', level=logging.INFO)
    return True


def _read_meta(data_root: str, why: Optional[List[str]] = None) -> Optional[dict]:
    """``data_root/meta.json``; None when it is missing or no JSON object
    (the reason appended to ``why``)."""
    try:
        with open(osp.join(data_root, 'meta.json'), encoding='utf-8') as f:
            meta = json.load(f)
        if not isinstance(meta, dict):
            raise ValueError('not a JSON object')
    except (OSError, ValueError, RecursionError) as err:  # nested too deeply
        if why is not None:
            why.append(str(err))
        return None
    return meta


def _made_here(data_root: str) -> bool:
    """Whether ``data_root/meta.json`` says this generator wrote the folder."""
    return (_read_meta(data_root) or {}).get('generator') == 'dld.datasets.synth'


def _meta_diffs(on_disk, wanted, key: str = '') -> List[str]:
    """``'<key> <disk> on disk vs <wanted>'`` for every leaf that differs,
    a degradation parameter added later counting at its former value where
    one side does not record it."""
    if not key and isinstance(on_disk, dict) and 'glyphs' not in on_disk:
        # a set made before glyphs were recorded: which fonts drew it is unknown
        on_disk = dict(on_disk, glyphs=(wanted or {}).get('glyphs'))
    if key == 'degradation' and isinstance(on_disk, dict) and isinstance(wanted, dict):
        on_disk, wanted = ({**_DEGRADATION_ADDED, **on_disk},
                           {**_DEGRADATION_ADDED, **wanted})
    if key == 'row_separator' and on_disk == '<not recorded>':
        # a '/' pattern's set made before '/' split rows: the '/' was printed
        return [f"row_separator not recorded on disk: made before {wanted!r} split a "
                f"pattern into two rows (its {wanted!r} was printed on one row)"]
    if isinstance(on_disk, dict) and isinstance(wanted, dict):
        return [d for k in wanted for d in _meta_diffs(
            on_disk.get(k, '<not recorded>'), wanted[k], f'{key}.{k}' if key else k)]
    return [] if on_disk == wanted else [f'{key} {on_disk!r} on disk vs {wanted!r}']


def _warn_if_stale(data_root: str, kwargs: dict) -> None:
    """Warn, naming each difference, when the set on disk was made with other
    generator arguments (defaults included) than ``kwargs``.

    A warning, not an error, as documented: a kept set is a deliberate
    choice (a shared or long-rendered set); the warning makes it visible.
    """
    try:
        wanted = synth_meta(**kwargs)
    except TypeError as err:
        raise TypeError(f'ensure_synth_plates: {err}; the arguments are those of '
                        'generate_synth_plates') from err
    why: List[str] = []
    meta = _read_meta(data_root, why)
    if meta is None:
        print_log(f'{data_root!r} has no readable meta.json ({why[0]}), so it cannot be '
                  'checked against the generator arguments; using it as is. Delete the folder '
                  'to regenerate.', logger='current', level=logging.WARNING)
        return
    diffs = _meta_diffs(meta, wanted)
    if diffs:
        if any(d.startswith('glyphs ') for d in diffs):
            diffs.append(f'the plate fonts as OpenCV {cv2.__version__} draws them differ from '
                         f'those of the set (made with OpenCV {meta.get("opencv", "?")}; OpenCV '
                         '4 draws four Hershey stroke fonts, OpenCV 5 one sans face)')
        print_log(f'{data_root!r} was generated with other arguments ({"; ".join(diffs)}); '
                  'using it as is. Delete the folder to regenerate.',
                  logger='current', level=logging.WARNING)
