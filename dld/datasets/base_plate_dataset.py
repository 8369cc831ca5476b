"""What both plate datasets share after parsing: validation, the frame
policy, LR/HR mode, and the retry on unreadable images.

A subclass only turns its annotation source into :class:`TrackRecord`s (or
:class:`PlateAnnotationError`s); everything else lives here, once.
"""
import logging
import os
import os.path as osp
import stat
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from dld.registry import TASK_UTILS
from dld.utils.flags import check_flag
from dld.utils.gc_paused import gc_paused
from dld.utils.listing import first_and_more, lines_and_more
from dld.utils.path_hints import backslash_hint, missing_path_hint

from .errors import ImageLoadError, PlateAnnotationError, RetryExhaustedError
from .seeded_pipeline import SeededPipelineMixin
from .skipped_image_counter import SkippedImageCounter
from .transforms.loading import LoadPlateImages, is_local_path, not_a_regular_file

FramePolicy = Union[str, int]


@dataclass
class TrackRecord:
    """One parsed track before validation.

    Attributes:
        where (str): ``'file:line'`` or the track folder, for error messages.
        track_id (str): stable id used for track-level voting.
        lr_paths (list[str | None]): absolute LR frame paths; all None for
            an HR-only track (HR crops without their LR frames, read by a
            model that reads HR: a teacher, the efficiency setting's student).
        hr_paths (list[str] | None): absolute HR frame paths, None when LR-only.
        text (str): plate text ('' when unknown).
    """

    where: str
    track_id: str
    lr_paths: List[Optional[str]]
    hr_paths: Optional[List[str]]
    text: str


def _own_frame(frames):
    """The innermost frame of code of one's own (a reader's), not of the
    standard library or an installed package (``json/decoder.py`` said
    nothing of the reader's line that called it); the innermost else."""
    import sysconfig
    libraries = tuple(p for p in {sysconfig.get_paths()[k] for k in ('stdlib', 'purelib',
                                                                     'platlib')} if p)
    own = [f for f in frames if not f.filename.startswith('<')  # '<frozen importlib...>'
           and not osp.abspath(f.filename).startswith(libraries)]
    return (own or frames)[-1]


class BasePlateDataset(SeededPipelineMixin, BaseDataset):
    """Base of the plate datasets; one item is one frame of a track.

    Args:
        dictionary (dict | Dictionary | None): the character set labels are
            validated against (built in ``TASK_UTILS``); defaults to
            ``dict(type='Dictionary')`` (0-9, A-Z). Labels are normalised
            by it (upper-cased unless case-sensitive).
        frames (str | int): which frames become items: ``'random'`` (one item
            per track, a random frame each time it is read), ``'all'`` (every
            frame is an item; ``track_id`` is kept for voting), ``'first'``
            or an int (that frame, 0-based).
        load_hr (bool | None): put HR paths into the results so the pipeline
            loads them. ``None`` means "train mode only" (``not test_mode``);
            set True for teacher evaluation on HR. Items without HR frames are
            an error when HR is loaded, and so, when the set is built, is a
            pipeline whose ``LoadPlateImages(with_hr=True)`` gets no HR.
        allow_empty_text (bool): accept tracks without a label (inference);
            the label is then ``''``.
        strict (bool): raise on the first bad annotation (default) or skip bad
            ones, counting them in :attr:`num_bad_annotations` (the errors in
            :attr:`bad_annotations`) and warning once.
        max_retry (int | None): how many other indices to try when an image
            is missing or cannot be decoded; each skip is logged with its
            path. ``None`` means 5 in train mode and 0 in test mode: a
            substitute would be evaluated twice and the unreadable item not
            at all, so evaluation stops with an error naming the image and
            its annotation instead.
        check_files (bool | None): check, when the dataset is built, that
            every image its pipeline will read exists, and raise
            :class:`ImageLoadError` listing the missing ones with their
            annotation lines. ``None`` checks when no substitute is allowed
            (``max_retry=0``, the test-mode default), so a missing
            validation image stops a run before its first epoch rather
            than at its first validation. Which files are read follows the
            pipeline's :class:`LoadPlateImages` (``with_lr``/``with_hr``);
            a pipeline without one is checked on every path handed to it.
        seed (int | None): seeds the frame choice of ``'random'`` and the
            retry index choice: in training, in a loader worker together
            with the seed torch gives that worker, so that each worker and
            epoch draws its own; in test mode per item, so that every
            evaluation reads the same frames. None uses NumPy's global
            generator (which MMEngine seeds per worker). With ``seed_pipeline`` it is part of
            every item's seed instead (None counts as 0).
        seed_pipeline (bool): draw everything random about reading an item
            (its augmentations, the ``'random'`` frame, a ``max_retry``
            substitute) from a seed of the item's own: the dataset's seed,
            the index the sampler asks for and the run's seed
            (:class:`SeededPipelineMixin`), so a resumed run reads the same
            images as an unbroken one even through persistent workers. Read
            it with :class:`EpochOffsetSampler`, whose indices
            ``epoch * len(self) + i`` give each epoch its own draws; any
            index ``>= 0`` reads item ``index % len(self)``.
        track_prefix (str): put before every ``track_id``. Track ids are
            relative to the data root (or the annotation line), so two sets
            concatenated into one evaluation share ids such as
            ``track_001``; a prefix per set (e.g. ``'cam1/'``) keeps their
            tracks apart for voting, which
            :class:`~dld.evaluation.TrackAccuracyMetric` otherwise refuses.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments
            (``ann_file``, ``data_root``, ``pipeline``, ``test_mode``,
            ``indices``, ...).
    """

    def __init__(self,
                 dictionary: Union[dict, object, None] = None,
                 frames: FramePolicy = 'random',
                 load_hr: Optional[bool] = None,
                 allow_empty_text: bool = False,
                 strict: bool = True,
                 max_retry: Optional[int] = None,
                 check_files: Optional[bool] = None,
                 seed: Optional[int] = None,
                 seed_pipeline: bool = False,
                 track_prefix: str = '',
                 **kwargs) -> None:
        if dictionary is None:
            dictionary = dict(type='Dictionary')
        if isinstance(dictionary, dict):
            dictionary = TASK_UTILS.build(dictionary)
        self.dictionary = dictionary
        if not (frames in ('random', 'all', 'first')
                or (isinstance(frames, int) and not isinstance(frames, bool) and frames >= 0)):
            raise ValueError(
                f"frames must be 'random', 'all', 'first' or a frame index >= 0, got {frames!r}")
        self.frames = frames
        name = type(self).__name__
        self._load_hr_arg = None if load_hr is None else check_flag(load_hr, f'{name}.load_hr')
        self.allow_empty_text = check_flag(allow_empty_text, f'{name}.allow_empty_text')
        self.strict = check_flag(strict, f'{name}.strict')
        if max_retry is None:
            max_retry = 0 if kwargs.get('test_mode', False) else 5
        if max_retry < 0:
            raise ValueError(f'max_retry must be >= 0, got {max_retry}')
        self.max_retry = max_retry
        self.check_files = (max_retry == 0 if check_files is None
                            else check_flag(check_files, f'{name}.check_files'))
        self.seed = seed
        self.seed_pipeline = check_flag(seed_pipeline, f'{name}.seed_pipeline')
        if not isinstance(track_prefix, str):
            raise TypeError(f'track_prefix must be a string, got {track_prefix!r}')
        self.track_prefix = track_prefix
        self._rng = np.random.default_rng(seed) if seed is not None else None
        self._rng_worker_seed: Optional[int] = None  # the loader worker it was seeded for
        self.num_bad_annotations = 0
        self.bad_annotations: List[PlateAnnotationError] = []  # what strict=False skipped
        self.skipped_images = SkippedImageCounter()
        self.skipped_paths: List[str] = []  # this process's skips; the count is everyone's
        # Outside a runner (scripts, tests) no default scope is set and
        # MMEngine's root registry would not find DLD's transforms.
        scope = None if DefaultScope.get_current_instance() is not None else 'dld'
        with DefaultScope.overwrite_default_scope(scope):
            super().__init__(**kwargs)
        self._check_loader_reads_what_is_loaded()
        # Set after BaseDataset parsed `metainfo`: it would read a string
        # value as a file name.
        self._metainfo['chars'] = ''.join(self.dictionary.dict[:self.dictionary.num_chars])

    @property
    def set_name(self) -> str:
        """What names this set among several evaluated together (each
        item's ``set_name``; the metrics' ``group_by='set'``): its
        ``track_prefix`` without the slash, else its data root's folder and
        label file (``'paired_a/val.txt'``)."""
        if self.track_prefix.strip('/'):
            return self.track_prefix.strip('/')
        root = osp.basename(osp.normpath(self.data_root)) if self.data_root else ''
        return '/'.join(p for p in (root, osp.basename(self.ann_file or '')) if p) or '.'

    @property
    def load_hr(self) -> bool:
        return (not self.test_mode) if self._load_hr_arg is None else bool(self._load_hr_arg)

    def _check_loader_reads_what_is_loaded(self) -> None:
        """Refuse, when built, a pipeline that must read HR frames from a set
        that hands it none: every item would fail when first read, which
        for a validation set is after the first epoch's training."""
        foreign = next((t for t in getattr(self.pipeline, 'transforms', [])
                        if type(t).__name__ in ('LoadImageFromFile', 'LoadImageFromNDArray')), None)
        if foreign is not None:
            # mmcv's, found through MMEngine's root registry: built without a
            # word, it failed at the first item in a loader worker (KeyError 'img_path')
            raise ValueError(
                f'{type(self).__name__}: the pipeline\'s {type(foreign).__name__} '
                f'({type(foreign).__module__}) reads results[\'img_path\'] (MMOCR\'s, '
                "MMDetection's items); DLD's items hold lr_path and hr_path, read by "
                'LoadPlateImages(with_lr, with_hr): use it in its place (docs/datasets.md, '
                'Transforms).')
        loader = self._image_loader()
        if loader is not None and loader.with_hr and not self.load_hr:
            raise ValueError(
                f'{type(self).__name__}: the pipeline\'s LoadPlateImages(with_hr=True) reads '
                'HR frames, but this set gives it none (load_hr='
                f'{self._load_hr_arg!r}, test_mode={self.test_mode}: a set in test mode '
                'loads HR only when asked). Set load_hr=True on the dataset, as the '
                "configs' hr_val_dataloader does.")

    # ------------------------------------------------------------------ parsing
    def iter_tracks(self) -> Iterator[Union[TrackRecord, PlateAnnotationError]]:
        """Yield one record (or the error it raised) per annotated track."""
        raise NotImplementedError(
            f'{type(self).__name__} must define iter_tracks(), yielding one TrackRecord '
            '(or the PlateAnnotationError it raised) per track (docs/customize.md)')

    def _validate(self, rec: TrackRecord) -> TrackRecord:
        """Raise :class:`PlateAnnotationError` if ``rec`` is not usable."""
        if not rec.lr_paths:
            raise PlateAnnotationError(rec.where, 'no LR frames')
        if all(p is None for p in rec.lr_paths):
            self._check_hr_only(rec)
        relative = [p for p in rec.lr_paths + (rec.hr_paths or [])
                    if p is not None and not osp.isabs(p)]
        if relative:
            # Read from the working directory instead, they would fail as
            # missing images far from their cause, or work by accident.
            raise PlateAnnotationError(
                rec.where, f'frame path {relative[0]!r} is relative; a dataset\'s '
                'iter_tracks() gives absolute paths '
                '(osp.abspath(osp.join(self.data_root, path)): data_root may be relative)')
        if rec.hr_paths is not None and len(rec.hr_paths) != len(rec.lr_paths):
            raise PlateAnnotationError(
                rec.where, f'{len(rec.lr_paths)} LR frames but {len(rec.hr_paths)} HR frames; '
                'LR and HR must pair frame by frame')
        if rec.hr_paths is None and self.load_hr:
            loader = self._image_loader()
            if loader is not None and not loader.with_lr:  # load_hr=False cannot help
                raise PlateAnnotationError(
                    rec.where, f'LR-only track ({self.no_hr_frames}), but this set '
                    'reads the HR crop only '
                    '(its LoadPlateImages has with_lr=False: a teacher, or the efficiency '
                    f"setting's student); give the track's HR frames{self.hr_frames_hint}")
            mode = 'test mode with load_hr=True' if self.test_mode else 'train mode'
            raise PlateAnnotationError(
                rec.where, f'LR-only track ({self.no_hr_frames}) but the dataset is '
                f'in {mode}, which loads HR; give its HR frames{self.hr_frames_hint}, or set '
                'load_hr=False where '
                "no model reads them (a student trained without a teacher: a DLD run's "
                'teacher reads the HR frames)')
        text = rec.text.strip()
        if not text and not self.allow_empty_text:
            raise PlateAnnotationError(
                rec.where, 'empty label (set allow_empty_text=True for unlabelled inference data)')
        problem = self.dictionary.label_problem(text)
        if problem:
            raise PlateAnnotationError(rec.where, problem)
        rec.text = self.dictionary.normalize(text)
        if isinstance(self.frames, int) and self.frames >= len(rec.lr_paths):
            raise PlateAnnotationError(
                rec.where, f'frames={self.frames} asked (an index from 0) but the track has only '
                f'{len(rec.lr_paths)} frame(s)'
                + (f', 0 to {len(rec.lr_paths) - 1}' if rec.lr_paths else ''))
        return rec

    def annotation_problems(self) -> List[PlateAnnotationError]:
        """Why each track the set would refuse is refused (no label, one
        outside the dictionary, LR and HR frames that do not pair, a track
        id or frames given twice, ...), without building the set: for a
        tool that writes track lists before any run reads them
        (``tools/split_tracks.py``)."""
        return self._read_tracks(strict=False)['bad']

    def _check_hr_only(self, rec: TrackRecord) -> None:
        """An HR-only track is read only where HR is loaded and no LR frame
        is: elsewhere each of its frames would fail when read."""
        loader = self._image_loader()
        if rec.hr_paths is None:
            raise PlateAnnotationError(rec.where, 'no LR and no HR frames')
        if not self.load_hr or (loader is not None and loader.with_lr):
            why = 'its LoadPlateImages reads LR' if self.load_hr else 'load_hr=False'
            raise PlateAnnotationError(
                rec.where, f'HR-only track, but this set reads LR frames ({why}); give its '
                "LR frames, or read it with a config whose model reads HR (a teacher's, "
                "the efficiency setting's)")

    def load_data_list(self) -> List[dict]:
        read = self._read_tracks(self.strict)
        data_list, bad = read['data_list'], read['bad']
        self.bad_annotations = bad
        self.num_bad_annotations = len(bad)
        self._say_case_folded(read['folded'], read['first_folded'])
        self._say_listed_again(read['again'])
        if bad:
            total = len(bad) + read['tracks']
            print_log(
                f'{type(self).__name__}: skipped {len(bad)} bad annotation(s) of {total} '
                f'({100 * len(bad) / total:.1f} %; strict=False), '
                f'{self.ann_file or self.data_root}:\n{lines_and_more([str(e) for e in bad], 10)}',
                logger='current', level=logging.WARNING)
        if not data_list:
            # MMEngine would fail later with "need at least one array to
            # concatenate", naming neither the set nor why it is empty.
            skipped = (f' ({len(bad)} bad annotation(s) skipped with strict=False, '
                       'listed in the warning above)' if bad else '')
            # every track refused: the hint on what a track looks like (the
            # file "holds no track line") would contradict the count
            hint = ('Every track it lists is one of them: fix them.' if bad
                    else self.no_tracks_hint)
            raise PlateAnnotationError(
                self.ann_file or self.data_root,
                f'{type(self).__name__} found no track to read{skipped}. {hint}')
        return data_list

    def _read_tracks(self, strict: bool) -> dict:
        """Every track of :meth:`iter_tracks` validated, once for the set
        and for :meth:`annotation_problems`: ``data_list``, ``bad`` (what
        ``strict=False`` skips; ``strict`` raises the first), ``tracks`` (how
        many were kept), the labels upper-cased (``folded``, the first three
        ``first_folded``), and ``again``: ``(where, first where)`` of the
        training tracks whose frames an earlier one lists too."""
        data_list: List[dict] = []
        bad: List[PlateAnnotationError] = []
        folded, first_folded = 0, []  # labels upper-cased; the first (where, as written)
        seen: Dict[str, str] = {}  # track id -> where it was first given
        listed: Dict[str, TrackRecord] = {}  # frame path -> the track that gave it first
        hr_listed: Dict[str, TrackRecord] = {}  # HR frame path -> the track that gave it first
        again: List[Tuple[str, str]] = []
        folders: Dict[str, str] = {}  # a folder -> the one it resolves to (test mode)
        for rec in self._tracks_read():
            try:
                if isinstance(rec, PlateAnnotationError):
                    raise rec
                written = rec.text.strip()
                rec = self._validate(rec)
                if rec.track_id in seen:
                    # Two tracks as one: their frames would be voted together,
                    # and the track metric would refuse only after an epoch.
                    raise PlateAnnotationError(
                        rec.where, f'track id {rec.track_id!r} is given already by '
                        f'{seen[rec.track_id]}; each track of a set needs its own id')
                keys = self._frame_keys(rec, folders)
                first = self._listed_already(rec, listed, keys)
                hr_keys = self._resolved(rec.hr_paths or [], folders)
                _refuse_hr_under_another_label(rec, hr_keys, hr_listed)
            except PlateAnnotationError as err:
                if strict:
                    raise
                if isinstance(rec, TrackRecord):  # read, then refused
                    err.track_id = rec.track_id
                bad.append(err)
                continue
            if first is not None:
                again.append((rec.where, first.where))
            seen[rec.track_id] = rec.where
            for key in keys:  # the first track listing a frame keeps it: named in messages
                listed.setdefault(key, rec)
            for key in hr_keys:
                hr_listed.setdefault(key, rec)
            if rec.text != written:
                folded += 1
                if len(first_folded) < 3:
                    first_folded.append((rec.where, written))
            data_list.extend(self._expand_frames(rec))
        return dict(data_list=data_list, bad=bad, tracks=len(seen), folded=folded,
                    first_folded=first_folded, again=again)

    def _tracks_read(self) -> Iterator[Union[TrackRecord, PlateAnnotationError]]:
        """:meth:`iter_tracks`, where an error it raises (a reader of one's
        own that raises on a bad line, as the docs say not to) names the set,
        the last track read before it and the line of code that raised: it
        was the error alone, placed in the reader's code, with no word of
        the data (an extension journey)."""
        import traceback
        last = None
        tracks = self.iter_tracks()
        while True:
            try:
                rec = next(tracks)
            except StopIteration:
                return
            except (PlateAnnotationError, OSError):  # a file not there: said as it is
                raise
            except Exception as err:  # noqa: BLE001 - any reader's error, given its context
                frame = _own_frame(traceback.extract_tb(err.__traceback__))
                after = f'after {last}' if last else 'before its first track'
                raise PlateAnnotationError(
                    getattr(self, 'ann_file', None) or self.data_root or type(self).__name__,
                    f'{type(self).__name__}.iter_tracks failed {after}: '
                    f'{type(err).__name__}: {err} (raised at {frame.filename}:{frame.lineno}; '
                    'a reader yields a PlateAnnotationError for a bad track, which '
                    'strict=False skips)') from err
            last = getattr(rec, 'where', last)
            yield rec

    def _frame_keys(self, rec: TrackRecord, folders: Optional[Dict[str, str]] = None
                    ) -> List[str]:
        """The frames that make a track its own: its LR frames (several
        tracks may degrade one HR image), an HR-only track's HR ones; in
        test mode as the files they resolve to, so a frame listed again
        through a linked folder (``t2 -> t``) is one frame, scored once.
        ``folders`` caches each folder's resolution: a realpath per frame
        was half of building a 50,000-track test set."""
        own = [p for p in rec.lr_paths if p is not None] or list(rec.hr_paths or [])
        return self._resolved(own, folders)

    def _resolved(self, paths: List[str], folders: Optional[Dict[str, str]] = None
                  ) -> List[str]:
        """``paths`` as :meth:`_frame_keys` compares them: in test mode as
        the files they resolve to (``folders`` caches each folder's)."""
        if not self.test_mode:
            return list(paths)
        folders = {} if folders is None else folders
        keys = []
        for p in paths:
            if osp.islink(p):  # a linked file: itself resolved
                keys.append(osp.realpath(p))
                continue
            folder, name = osp.split(p)
            if folder not in folders:
                folders[folder] = osp.realpath(folder)
            keys.append(osp.join(folders[folder], name))
        return keys

    def _listed_already(self, rec: TrackRecord, listed: Dict[str, TrackRecord],
                        own: List[str]) -> Optional[TrackRecord]:
        """The earlier track whose frames ``rec`` lists too, or None. Refused
        under another label (one of the two a misread whatever the model
        reads) and in test mode (a line pasted twice was scored twice,
        without a word); in training a repeated line reads its track more
        often, which :meth:`_say_listed_again` says. A frame a test track
        lists twice, scored twice, is refused too. ``own``: its
        :meth:`_frame_keys`."""
        if self.test_mode and self.frames == 'all':
            twice = _first_repeated(own)
            if twice is not None:
                raise PlateAnnotationError(
                    rec.where, f'frame {twice} is listed twice in this track: a test set '
                    'would read and score it twice; list each frame once')
        again = next((p for p in own if p in listed), None)
        if again is None:
            return None
        first = listed[again]
        if first.text != rec.text:
            raise PlateAnnotationError(
                rec.where, f'frame {again} is listed already, by {first.where}, with another '
                f'label ({first.text!r}, here {rec.text!r}); give each frame one label')
        if self.test_mode:
            raise PlateAnnotationError(
                rec.where, f'frame {again} is listed already, by {first.where}: a test set '
                'would read and score it twice; list each track once')
        return first

    def _say_listed_again(self, again: List[Tuple[str, str]]) -> None:
        """One warning for the training tracks that list an earlier one's
        frames (a line repeated to read a track more often, or pasted twice
        by mistake): they are read as many times more often."""
        if not again:
            return
        shown = first_and_more([f'{where} (as {first})' for where, first in again], 3)
        print_log(
            f'{type(self).__name__}: {len(again)} track(s) list the frames of an earlier one: '
            f'{shown}; each is read that many times more often in training. Remove the '
            'repeated lines if that was not meant.', logger='current', level=logging.WARNING)

    def _say_case_folded(self, count: int, first: List[Tuple[str, str]]) -> None:
        """One warning for the ``count`` labels written in lower case that the
        case-insensitive dictionary reads upper-cased (``first``: the first
        three, ``(where, as written)``): they trained and were scored as
        capitals without a word."""
        if not count:
            return
        shown = first_and_more([f'{where} {text!r}' for where, text in first], len(first),
                               total=count)
        print_log(
            f'{type(self).__name__}: {count} label(s) hold lower case, read upper-cased '
            f'by its case-insensitive dictionary: {shown}. To keep case, give the '
            'dataset and the decoders a case-sensitive dictionary (docs/datasets.md, '
            '"Words and other text").', logger='current', level=logging.WARNING)

    #: Said when a set holds no track (subclasses say where tracks come from).
    no_tracks_hint = 'Check the annotation source.'
    #: What an LR-only track lacks, in the set's own format.
    no_hr_frames = 'no HR frames'
    #: after "give the track's HR frames": how this format gives them
    hr_frames_hint = ''

    def _expand_frames(self, rec: TrackRecord) -> List[dict]:
        hr = rec.hr_paths if self.load_hr else None
        base = dict(track_id=self.track_prefix + rec.track_id, gt_text=rec.text,
                    num_frames=len(rec.lr_paths), annotation=rec.where,
                    set_name=self.set_name)
        if self.frames == 'all':
            idxs: Sequence[Optional[int]] = range(len(rec.lr_paths))
        elif self.frames == 'random':
            return [dict(base, frame_idx=None, lr_paths=list(rec.lr_paths),
                         hr_paths=None if hr is None else list(hr))]
        else:
            idxs = [0 if self.frames == 'first' else int(self.frames)]
        return [dict(base, frame_idx=i, lr_paths=[rec.lr_paths[i]],
                     hr_paths=None if hr is None else [hr[i]]) for i in idxs]

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        # the item list: millions of acyclic dicts, lists and strings, which
        # the cyclic collector scanned over and over (a third of building a
        # 100,000-track label file, 16 s of 47)
        with gc_paused():
            super().full_init()
        if self.check_files:
            self._check_files_exist()

    def _serialize_data(self):
        # Only ``indices`` can leave nothing here (load_data_list refuses an
        # empty set); MMEngine's serialisation then fails with "need at least
        # one array to concatenate", naming neither the set nor why.
        if not self.data_list:
            raise ValueError(f'{type(self).__name__} ({self.ann_file or self.data_root}): '
                             f'indices={self._indices!r} selects no item of the set')
        return super()._serialize_data()

    def _image_loader(self) -> Optional[LoadPlateImages]:
        return next((t for t in getattr(self.pipeline, 'transforms', [])
                     if isinstance(t, LoadPlateImages)), None)

    def files_read(self) -> Iterator[Tuple[str, str]]:
        """``(path, where it is listed)`` of every image file the pipeline
        reads (its ``LoadPlateImages``: HR only for a teacher's), in order."""
        loader = self._image_loader()
        for idx in range(len(self)):
            info = self.listed_info(idx)
            lr_paths = info['lr_paths']
            hr_paths = info['hr_paths'] or [None] * len(lr_paths)
            where = info.get('annotation') or info['track_id']
            for lr, hr in zip(lr_paths, hr_paths):
                for path in (loader.paths_read(lr, hr) if loader is not None
                             else [p for p in (lr, hr) if p]):
                    yield path, where

    def missing_files(self) -> Tuple[List[Tuple[str, str]], int]:
        """``([(path, path said with where it is listed and why)], number of
        paths read)``: the images the pipeline reads that are not there,
        are no regular file (a folder, a FIFO, a device: named so) or are
        empty (0 bytes, on the local disk)."""
        loader = self._image_loader()
        local = loader is None or loader.backend_args is None or \
            is_local_path(self.data_root or '.', loader.backend_args)
        missing: List[Tuple[str, str]] = []
        num_paths = 0
        for path, where in self.files_read():
            num_paths += 1
            if local:  # one stat: a regular file, and its size
                size = _regular_file_size(path)
                exists, empty = size is not None, size == 0
            else:
                exists = loader.file_exists(path)
                empty = False
            if not exists:
                what = not_a_regular_file(path)  # a folder, a FIFO: not missing
                what = f', {what.split(",")[0]}' if what else ''
                missing.append((path, f'{path} ({where}{what})'))
            elif empty:  # it stopped a run after an epoch
                missing.append((path, f'{path} ({where}, empty: 0 bytes)'))
        return missing, num_paths

    def _check_files_exist(self, shown: int = 10) -> None:
        """Raise :class:`ImageLoadError` if an image the pipeline reads is
        missing, no regular file or empty (:meth:`missing_files`)."""
        missing, num_paths = self.missing_files()
        if not missing:
            return
        raise ImageLoadError(
            missing[0][0],
            f'{type(self).__name__}: {len(missing)} of the {num_paths} image(s) its '
            'pipeline reads do not exist, are no files or are empty, the first',
            'Fix the paths or remove their lines (check_files=False skips this check, '
            'and max_retry > 0 then substitutes other items). Missing, not files or '
            'empty:\n' + missing_listing(missing, shown))

    @property
    def num_skipped_images(self) -> int:
        """Images skipped so far, by this process and its dataloader workers."""
        return self.skipped_images.total

    # ------------------------------------------------------------------ reading
    def _randint(self, high: int, item: Optional[int] = None) -> int:
        # With seed_pipeline the global generator is seeded for the item.
        if self._rng is not None and not self.seed_pipeline:
            if self.test_mode and item is not None:
                # an evaluation reads the same frame of an item every time,
                # whatever its workers: its epochs compare
                return int(np.random.default_rng([self.seed, item]).integers(high))
            return int(self._worker_rng().integers(high))
        return int(np.random.randint(high))

    def _worker_rng(self) -> np.random.Generator:
        """The ``seed``'s generator, of this loader worker and epoch where
        one reads the set: each worker held a copy of one generator, so
        every worker drew the same frames, and every epoch again (torch
        gives each worker of each epoch's iterator a seed of its own, made
        from the run's)."""
        import torch.utils.data
        info = torch.utils.data.get_worker_info()
        if info is not None and info.seed != self._rng_worker_seed:
            self._rng_worker_seed = info.seed
            self._rng = np.random.default_rng([self.seed, info.seed])
        return self._rng

    def _unreadable_item_error(self, idx: int, err: ImageLoadError) -> ImageLoadError:
        """``err`` with the item, track and annotation it came from."""
        where = self._item_source(idx)
        # a label file's item has a line; a track folder's has its folder
        remove = ('its line' if where.rsplit(':', 1)[-1].isdigit() else
                  'the frame from its track (its lr-K and hr-K files both)')
        hint = (f'Test mode reads every item exactly once: fix the image or remove {remove}, '
                'or pass max_retry > 0 to evaluate the next item in its place'
                if self.test_mode else 'max_retry=0 asks for no substitute')
        return ImageLoadError(err.path, f'{err.reason} in item {idx} ({where})', hint)

    def _item_source(self, idx: int) -> str:
        """Where item ``idx`` was listed (``file:line``), else its track; draws
        no random frame."""
        info = BaseDataset.get_data_info(self, idx)
        return info.get('annotation') or f"track {info.get('track_id')!r}"

    def item_labels(self) -> Iterator[Tuple[str, str]]:
        """``(annotation, label)`` of every item, in order; draws no random
        frame (checks before training must not move the generators)."""
        self.full_init()
        for idx in range(len(self)):
            info = self.listed_info(idx)
            yield str(info.get('annotation')), info['gt_text']

    def listed_info(self, idx: int) -> dict:
        """Item ``idx`` as the set lists it, to read, not to change: its
        ``lr_paths``/``hr_paths`` (all the track's frames for ``'random'``),
        no frame drawn, no ``sample_idx``. Unpickled from the serialised
        list, or the listed dict itself where the set keeps its list
        unserialised (``serialize_data=False``, as the checking tools build
        it): MMEngine's ``get_data_info`` deep-copies each item there, half
        of ``check_data.py`` on 100,000 tracks (55 s of 102)."""
        if not self._fully_initialized:
            self.full_init()
        if self.serialize_data:
            return BaseDataset.get_data_info(self, idx)
        return self.data_list[idx]

    def get_cat_ids(self, idx: int) -> List[int]:
        """The dictionary indices of the characters of item ``idx``'s label,
        each once: MMEngine's ``ClassBalancedDataset`` then repeats the
        tracks whose labels hold rare characters (a province, a letter few
        plates have) more often. It failed with NotImplementedError."""
        return sorted(set(self.dictionary.str2idx(BaseDataset.get_data_info(self, idx)['gt_text'])))

    def get_data_info(self, idx: int) -> dict:
        """The results dict of the data contract for item ``idx``."""
        info = super().get_data_info(idx)
        lr_paths, hr_paths = info.pop('lr_paths'), info.pop('hr_paths')
        if info['frame_idx'] is None:  # 'random': choose now, same frame for LR and HR
            pick = self._randint(len(lr_paths), item=idx)
            info['frame_idx'] = pick
        else:
            pick = 0  # the item holds exactly its frame
        info['lr_path'] = lr_paths[pick]
        info['hr_path'] = None if hr_paths is None else hr_paths[pick]
        # DegradeHR(seed=) keys its draw on the frame's path in the set; given
        # here, not kept in every item (the serialised data list: 8 MB more
        # per 250,000 frames, in every dataloader worker's view of it)
        info['data_root'] = self.data_root or None
        return info

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        if idx < 0 or len(self) == 0:
            raise IndexError(f'{type(self).__name__}: index {idx} of a dataset of '
                             f'{len(self)} item(s); indices are >= 0')
        # An index past the end is item idx % len in another epoch
        # (EpochOffsetSampler); the index itself seeds the item's draws.
        with self.item_draws(self.seed or 0, idx):
            return self._read(idx % len(self))

    def _read(self, idx: int) -> dict:
        """Item ``idx`` through the pipeline, or a substitute (``max_retry``)."""
        tried = []
        failed = set()  # indices that failed: a substitute is another item
        for attempt in range(self.max_retry + 1):
            try:
                data = self.prepare_data(idx)
            except ImageLoadError as err:
                if self.max_retry == 0:
                    raise self._unreadable_item_error(idx, err) from err
                self.skipped_images.add()
                self.skipped_paths.append(err.path)
                where = self._item_source(idx)
                tried.append(f'{err} ({where})')
                # once a path in the run, whichever worker or epoch reads it
                # (SkippedImagesHook counts every skip, each epoch)
                if self.skipped_images.first_skip(err.path):
                    print_log(
                        f'{type(self).__name__}: skipping item {idx} of {where} ({err}); '
                        f'{self.num_skipped_images} image(s) of this set skipped so far '
                        '(said once a path; later skips are counted per epoch)',
                        logger='current', level=logging.WARNING)
                failed.add(idx)
                if attempt < self.max_retry:
                    if len(failed) == len(self):
                        break  # every item failed: no other to read
                    # Test mode steps to the next index so evaluation stays
                    # reproducible; train mode draws a random one among those
                    # not tried (drawn again, one broken track of a small set
                    # was read max_retry + 1 times and stopped the run)
                    idx = ((idx + 1) % len(self) if self.test_mode
                           else _nth_not_in(self._randint(len(self) - len(failed)), failed))
                continue
            if data is None:
                where = self._item_source(idx)
                steps = ', '.join(getattr(t, '__name__', type(t).__name__) for t in
                                  getattr(self.pipeline, 'transforms', []))
                raise RuntimeError(f'The pipeline returned None for item {idx} ({where}): '
                                   f'one of its transforms ({steps}) dropped it; plate '
                                   'pipelines must not drop samples silently.')
            if tried and self.test_mode:
                _mark_substitute(data)
            return data
        raise RetryExhaustedError(
            f'{type(self).__name__}: {len(tried)} consecutive unreadable item(s) '
            f'(max_retry={self.max_retry}'
            + ('; that is every item of the set' if len(failed) == len(self) else '')
            + '). Check the data under '
            f'{self.data_root or osp.dirname(self.ann_file)!r}:\n  ' + '\n  '.join(tried)
            + backslash_hint(tried))


def _refuse_hr_under_another_label(rec: TrackRecord, keys: List[str],
                                   hr_listed: Dict[str, TrackRecord]) -> None:
    """Tracks may share an HR frame (several degradations of one HR
    image), but not under two labels: one of the two is a misread whatever
    the teacher reads in it (only the LR frames were compared). ``keys``:
    its HR frames as :meth:`BasePlateDataset._resolved` compares them (in
    test mode one file through a linked folder is one frame)."""
    for path in keys:
        first = hr_listed.get(path)
        if first is not None and first.text != rec.text:
            raise PlateAnnotationError(
                rec.where, f'HR frame {path} is listed already, by {first.where}, with '
                f'another label ({first.text!r}, here {rec.text!r}); give each frame one '
                'label (the HR frames of another plate, listed by mistake?)')


def _nth_not_in(n: int, taken: set) -> int:
    """The ``n``-th index (from 0) that ``taken`` does not hold."""
    for index in sorted(taken):
        if index <= n:
            n += 1
    return n


def _mark_substitute(data) -> None:
    """Mark an item read in the place of an unreadable one (test mode,
    ``max_retry > 0``): it is scored as a frame of its own, but it is a second
    reading of its frame, which a track vote must not count twice
    (:class:`~dld.evaluation.TrackAccuracyMetric` leaves it out)."""
    sample = data.get('data_samples') if isinstance(data, dict) else None
    if hasattr(sample, 'set_metainfo'):
        sample.set_metainfo(dict(substitute=True))
    elif isinstance(data, dict):
        data['substitute'] = True


def _regular_file_size(path: str) -> Optional[int]:
    """The size of the local regular file ``path``; None where it is not one
    (not there, a folder, a FIFO)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def missing_listing(missing: List[Tuple[str, str]], shown: int = 10) -> str:
    """The first ``shown`` of :meth:`BasePlateDataset.missing_files`, one a
    line, how many more, and why they may be meant otherwise."""
    said_otherwise = backslash_hint([said for _, said in missing]) or next(
        (f'\n  ({path}{hint})' for path, hint in ((p, missing_path_hint(p)) for p, _
                                               in missing[:shown] if not osp.lexists(p))
         if hint), '')
    return lines_and_more([said for _, said in missing], shown) + said_otherwise


def _first_repeated(items: Sequence[str]) -> Optional[str]:
    """The first item seen before (a set: a slice per item was quadratic in a
    track's frames, 3.6 s of a 20,000-frame track's build)."""
    seen = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None
