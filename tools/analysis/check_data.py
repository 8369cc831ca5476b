"""Check a config's plate sets on disk before a long run: every problem at once.

    python tools/analysis/check_data.py CONFIG [--splits train val test] [--decode]
        [--shown N] [--cfg-options ...]

Each set of the config's ``train``, ``val`` and ``test`` dataloaders (each
set of a concatenation or wrapper) is read as the config reads it, its bad
lines skipped instead of stopping at the first (``strict=False``); then
every image its pipeline reads (a teacher's: the HR frames only) is looked
for, and with ``--decode`` decoded as training decodes it. Printed: each
refused line with its ``file:line`` and why, each missing, empty or (with
``--decode``) undecodable image with the line that lists it, and a table of
tracks, images and problems per set. The exit status is 1 where there is any
problem, 0 where there is none.

Why: a run stops at a set's first bad line (``strict``), one fix a run; a
frame that does not decode is found when it is read, in training or at the
first validation after an epoch. A set rendered when read (the
``*_online`` configs) has no files to check. Label lengths are checked
against the model's decoders when training starts (``LabelLengthCheckHook``).
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None) -> argparse.Namespace:
    from dld.cli_options import ConfigOptionsAction
    parser = argparse.ArgumentParser(
        description="Check a config's plate sets on disk: refused lines, missing, empty and "
        '(--decode) undecodable images, all at once.')
    parser.add_argument('config', help='a DLD or recognizer config')
    parser.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS),
                        help='the dataloaders to check (default: all three)')
    parser.add_argument('--decode', action='store_true',
                        help='decode every image as training does (slower: a few ms each)')
    parser.add_argument('--shown', type=int, default=10, metavar='N',
                        help='problems listed per kind and set (default 10; the count is '
                        'always whole)')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, as the other tools take them')
    args = parser.parse_args(argv)
    if args.shown < 1:
        parser.error(f'--shown must be >= 1, got {args.shown}')
    return args


def leaf_sets(dataset: dict, where: str) -> Iterator[Tuple[str, dict]]:
    """``(where in the config, set config)`` of each set below ``dataset``:
    a concatenation's sets, a wrapper's set, in order."""
    if 'datasets' in dataset:
        for i, inner in enumerate(dataset['datasets']):
            yield from leaf_sets(dict(inner), f'{where}.datasets.{i}')
    elif 'dataset' in dataset:
        yield from leaf_sets(dict(dataset['dataset']), f'{where}.dataset')
    else:
        yield where, dataset


class SetReport:
    """What was found in one set."""

    def __init__(self, split: str, where: str, kind: str, source: str) -> None:
        self.split, self.where, self.kind, self.source = split, where, kind, source
        self.tracks = self.items = self.files = 0
        self.refused: List[Tuple[str, str]] = []  # ('file:line', why)
        self.missing: List[Tuple[str, str]] = []  # (path, said)
        self.undecodable: List[Tuple[str, str]] = []  # ('path (file:line)', why)
        self.failed: Optional[str] = None  # the set could not be read at all
        self.note: Optional[str] = None  # nothing to check, and why

    @property
    def problems(self) -> int:
        return len(self.refused) + len(self.missing) + len(self.undecodable) + bool(self.failed)


def check_set(split: str, where: str, cfg: dict, decode: bool) -> SetReport:
    """Read the set ``cfg`` (a leaf of ``split``'s dataloader at ``where``)
    and find its problems."""
    from mmengine.dataset import BaseDataset

    from dld.datasets import BasePlateDataset
    from dld.datasets.transforms.loading import read_plate_image
    from dld.registry import DATASETS
    given = cfg.get('type', '')
    kind = given.__name__ if isinstance(given, type) else str(given)
    source = str(cfg.get('ann_file') or cfg.get('data_root') or '')
    if cfg.get('ann_file') and cfg.get('data_root'):
        source = osp.join(str(cfg['data_root']), str(cfg['ann_file']))
    report = SetReport(split, where, kind, source)
    cls = given if isinstance(given, type) else DATASETS.get(kind)  # a class is a type too
    if not (isinstance(cls, type) and issubclass(cls, BasePlateDataset)):
        report.note = f'{kind}: rendered when read, or a set of its own kind: no files to check'
        # the plates it renders (an online set's), not "0 items" in the table
        report.items = cfg.get('num_plates', '-')
        return report
    try:
        with _skipped_lines_unsaid():
            dataset = DATASETS.build(dict(cfg, strict=False, check_files=False,
                                          lazy_init=False, serialize_data=False))
    except Exception as err:  # noqa: BLE001 - a set that cannot be read at all is one problem
        report.failed = f'{type(err).__name__}: {err}'
        return report
    report.items = len(dataset)
    # the base class's info: the dataset's own draws a 'random' frame
    report.tracks = len({BaseDataset.get_data_info(dataset, i)['track_id']
                         for i in range(len(dataset))})
    report.refused = [(e.where, e.reason) for e in dataset.bad_annotations]
    report.missing, report.files = dataset.missing_files()
    if decode:
        report.undecodable = _undecodable(dataset, {p for p, _ in report.missing},
                                          read_plate_image)
    return report


class _SkippedLinesFilter:
    """Holds back the set's own warning listing the lines strict=False
    skipped: this tool lists them below its summary line, so they were said
    twice. ``held``: the records held back, said after all where the set
    cannot be built (every line refused: its error points to the warning)."""

    def __init__(self) -> None:
        self.held: list = []

    def filter(self, record) -> bool:
        if ' bad annotation(s) of ' in str(record.msg).split('\n', 1)[0]:
            if record not in self.held:  # one record, seen by each handler
                self.held.append(record)
            return False
        return True


@contextmanager
def _skipped_lines_unsaid() -> Iterator[None]:
    """The dataset's "skipped N bad annotation(s)" warning left out while
    it is built (its other warnings, a label upper-cased, a frame listed
    twice, are said: this tool does not list them); said after all where
    the build fails, as the set's error says the lines are listed above."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    handlers = list(logger.handlers)
    held = _SkippedLinesFilter()
    for handler in handlers:  # before MMEngine's filter of repeated warnings, which
        handler.filters.insert(0, held)  # would drop the record said after all
    try:
        yield
    except BaseException:
        for handler in handlers:
            handler.removeFilter(held)
        for record in held.held:
            logger.handle(record)
        raise
    finally:
        for handler in handlers:
            handler.removeFilter(held)


def _undecodable(dataset, missing: set, read) -> List[Tuple[str, str]]:
    """``('path (where)', why)`` of each image that does not decode, each
    file once (an HR frame listed for several LR frames is decoded once)."""
    from tqdm import tqdm

    from dld.datasets import ImageLoadError
    from dld.datasets.transforms.loading import DEFAULT_MAX_PIXELS
    loader = dataset._image_loader()
    color = getattr(loader, 'color_type', 'color')
    backend = getattr(loader, 'backend_args', None)
    max_pixels = getattr(loader, 'max_pixels', DEFAULT_MAX_PIXELS)  # as training reads them
    files: Dict[str, str] = {}
    for path, where in dataset.files_read():
        if path not in missing:
            files.setdefault(path, where)
    bad = []
    for path, where in tqdm(files.items(), desc='decoding', unit='image', leave=False,
                            disable=not sys.stderr.isatty()):
        try:
            read(path, color, backend, max_pixels)
        except ImageLoadError as err:
            bad.append((f'{path} ({where})', err.reason))
    return bad


def print_report(report: SetReport, shown: int) -> None:
    from dld.datasets.base_plate_dataset import missing_listing
    from dld.engine.hooks.label_check_hook import listing
    head = f'{report.split} ({report.where}, {report.kind} {report.source})'
    if report.note:
        print(f'{head}: {report.note}')
        return
    if report.failed:
        print(f'{head}: cannot be read: {report.failed}')
        return
    print(f'{head}: {report.tracks} track(s), {report.items} item(s), {report.files} image '
          'file(s) read')
    if report.refused:
        print(f'{len(report.refused)} line(s) refused (a run with strict=True stops at the '
              f'first):\n{listing(report.refused, shown)}')
    if report.missing:
        print(f'{len(report.missing)} image(s) missing, not files or empty:\n'
              f'{missing_listing(report.missing, shown)}')
    if report.undecodable:
        print(f'{len(report.undecodable)} image(s) that do not decode:\n'
              f'{listing(report.undecodable, shown)}')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.registry import init_default_scope
    from tabulate import tabulate

    from dld.engine.launch import config_errors_exit
    from dld.utils.config_file import merge_config_options, read_config
    with config_errors_exit('check_data.py'):
        cfg = read_config(args.config)
        if args.cfg_options:
            merge_config_options(cfg, args.cfg_options, args.config)
    init_default_scope(cfg.get('default_scope', 'dld'))
    reports = []
    for split in args.splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or not loader.get('dataset'):
            print(f'{split}: the config has no {split}_dataloader')
            continue
        for where, leaf in leaf_sets(dict(loader['dataset']), f'{split}_dataloader.dataset'):
            report = check_set(split, where, leaf, args.decode)
            print_report(report, args.shown)
            reports.append(report)
    if not reports:
        return 2
    decoded = args.decode
    print('\n' + tabulate(
        [[r.split, r.kind, r.source, '-' if r.note else r.tracks, r.items, len(r.refused),
          len(r.missing),
          len(r.undecodable) if decoded else '-',
          'cannot be read' if r.failed else (r.note and 'not checked') or
          ('ok' if not r.problems else 'problems')] for r in reports],
        headers=['split', 'set', 'source', 'tracks', 'items', 'lines refused',
                 'missing/empty', 'undecodable', 'status'], tablefmt='github'))
    problems = sum(r.problems for r in reports)
    if not decoded:
        print('Images were looked for, not decoded: --decode decodes each as training does.')
    print(f'{problems} problem(s) found.' if problems else 'No problem found.')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
