"""An evaluation scores each image once, and sets concatenated into one keep
their tracks apart."""
import logging
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset, ClassBalancedDataset, ConcatDataset, RepeatDataset
from mmengine.hooks import Hook
from mmengine.logging import print_log

from dld.datasets import nested_datasets
from dld.datasets.errors import RepeatedEvaluationError, SharedTrackIdError
from dld.evaluation.metrics import TrackAccuracyMetric
from dld.registry import HOOKS
from dld.utils.listing import first_and_more


def leaf_datasets(dataset) -> Iterator:
    """The sets a (nested) :class:`ConcatDataset` is made of, in order; a
    repeating wrapper stands for the set it repeats."""
    if isinstance(dataset, ConcatDataset):
        for part in dataset.datasets:
            yield from leaf_datasets(part)
    elif isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        yield from leaf_datasets(dataset.dataset)
    else:
        yield dataset


def _name(dataset, index: int) -> str:
    source = getattr(dataset, 'ann_file', '') or getattr(dataset, 'data_root', '')
    return f'part {index + 1} ({type(dataset).__name__}' + (f', {source})' if source else ')')


def _track_ids(dataset) -> set:
    """The track ids of ``dataset``'s items as its list holds them: not the
    set's own ``get_data_info``, which may draw a frame (moving the
    generators a run reads with) or render a plate."""
    if not isinstance(dataset, BaseDataset):
        return set()
    dataset.full_init()
    ids = (BaseDataset.get_data_info(dataset, i).get('track_id') for i in range(len(dataset)))
    return {i for i in ids if i is not None}


def _frames(dataset) -> set:
    """The ``(LR path, HR path)`` of each frame of ``dataset``'s items (one
    image read twice is one pair twice; tracks sharing an HR frame, several
    degradations of one plate, are not)."""
    if not isinstance(dataset, BaseDataset):
        return set()
    dataset.full_init()
    frames = set()
    for i in range(len(dataset)):
        info = BaseDataset.get_data_info(dataset, i)
        lr = info.get('lr_paths') or ()
        frames.update(zip(lr, info.get('hr_paths') or [None] * len(lr)))
    return frames


def repeated_images(dataset) -> str:
    """Why an evaluation of ``dataset`` would score images more than once
    ('' where it would not): a repeating wrapper inside it, or the same
    frame in two of its parts (one label file given twice, or a split given
    once as a label file and once as track folders)."""
    for inner in nested_datasets(dataset):
        if isinstance(inner, (RepeatDataset, ClassBalancedDataset)) and \
                len(inner) > len(inner.dataset):  # times=1 repeats nothing
            return (f'it holds a {type(inner).__name__}, which gives images more than once: '
                    'an evaluation scores each once; give the set unwrapped')
    parts = list(leaf_datasets(dataset))
    owner: Dict[tuple, int] = {}
    for index, part in enumerate(parts if len(parts) > 1 else ()):
        frames = _frames(part)
        shared = sorted(f for f in frames if f in owner)
        if shared:
            first = owner[shared[0]]
            return (f'{_name(parts[first], first)} and {_name(part, index)} hold '
                    f'{len(shared)} frame(s) alike, e.g. {shared[0][0] or shared[0][1]}: each '
                    'would be scored twice; give each image to one set')
        owner.update((f, index) for f in frames)
    return ''


def _image_paths(dataset) -> Iterator[str]:
    """The LR and HR image paths of ``dataset``'s items (a validation set
    may load no HR frames where the training set does)."""
    if not isinstance(dataset, BaseDataset):
        return
    dataset.full_init()
    # a plate set's listed items, not copies (500,000 deep copies at scale)
    info_of = getattr(dataset, 'listed_info', None) or (
        lambda i: BaseDataset.get_data_info(dataset, i))
    for i in range(len(dataset)):
        info = info_of(i)
        yield from info.get('lr_paths') or ()
        yield from info.get('hr_paths') or ()


def frames_trained_on(train_set, val_set) -> str:
    """Why the validation of ``val_set`` would score images the model trains
    on ('' where it would not): a val_dataloader left on the training split
    (``ann_file='train.txt'``) validated, and picked best.pth, on the training
    images without a word."""
    val_paths = {p for part in leaf_datasets(val_set) for p in _image_paths(part)}
    if not val_paths:
        return ''
    # the training set's paths looked up one by one, not held (a million at scale)
    shared = {p for part in leaf_datasets(train_set) for p in _image_paths(part)
              if p in val_paths}
    if not shared:
        return ''
    return (f'shares {len(shared)} of its {len(val_paths)} image(s) with the training set, '
            f'e.g. {min(shared)}: its accuracy (and the best checkpoint it picks) measures '
            'images the model trains on; point val_dataloader at a held-out split')


def shared_set_name(dataset) -> str:
    """Why the sets of ``dataset`` cannot be told apart by name (``group_by='set'``
    would pool them), '' where each part's ``set_name`` is its own."""
    parts = list(leaf_datasets(dataset))
    owner: Dict[str, int] = {}
    for index, part in enumerate(parts):
        name = getattr(part, 'set_name', None)
        if name is None:
            continue
        if name in owner:
            return (f'{_name(parts[owner[name]], owner[name])} and {_name(part, index)} are both '
                    f"named {name!r}: a metric's group_by='set' would pool them. Give each its "
                    "own track_prefix (its name), e.g. track_prefix='night/'")
        owner[name] = index
    return ''


def shared_track_ids(dataset) -> Optional[Tuple[str, str, List[str]]]:
    """The first two parts of ``dataset`` that share track ids, and the ids
    (sorted); None where every track id belongs to one part."""
    parts = list(leaf_datasets(dataset))
    if len(parts) < 2:  # a set refuses its own repeated ids when built
        return None
    owner: Dict[str, int] = {}
    names = []
    for index, part in enumerate(parts):
        names.append(_name(part, index))
        ids = _track_ids(part)
        clashes = sorted(i for i in ids if i in owner)
        if clashes:
            return names[owner[clashes[0]]], names[index], clashes
        owner.update((i, index) for i in ids)
    return None


def check_evaluated_set(dataset, metrics: Sequence, what: str = "the test set's") -> None:
    """Refuse an evaluation of ``dataset`` by ``metrics`` that would score an
    image more than once, pool two sets of one name (``group_by='set'``) or
    vote two sets' tracks of one id as one plate (:class:`TrackIdsCheckHook`;
    also what ``tools/flops_accuracy.py`` checks before it reads the set).

    Raises:
        RepeatedEvaluationError: see :func:`repeated_images`.
        SharedTrackIdError: two parts share a name or track ids.
    """
    # a repeated image was scored twice without a word, or stopped the
    # track metric after the whole pass with the advice of a shared id
    repeated = repeated_images(dataset)
    if repeated:
        raise RepeatedEvaluationError(f'{what[:-2]}: {repeated}')
    if any(getattr(m, 'group_by', None) == 'set' for m in metrics):
        pooled = shared_set_name(dataset)
        if pooled:
            raise SharedTrackIdError(f'{what[:-2]}: {pooled}')
    if not any(isinstance(m, TrackAccuracyMetric) for m in metrics):
        return
    found = shared_track_ids(dataset)
    if found is None:
        return
    first, second, ids = found
    listed = first_and_more([repr(i) for i in ids], 5)
    raise SharedTrackIdError(
        f'{what} {first} and {second} share {len(ids)} track id(s): {listed}; '
        'TrackAccuracyMetric would vote their frames as one plate. Give each set its '
        "own track_prefix, e.g. dict(type='PairedPlateDataset', ..., track_prefix='cam1/').")


@HOOKS.register_module()
class TrackIdsCheckHook(Hook):
    """A validation or test set that concatenates sets sharing track ids
    stops the run before it reads them, where a ``TrackAccuracyMetric``
    votes over tracks; one that would score images more than once (a
    ``RepeatDataset`` in it, an image in two of its parts) stops it too.

    Why: track ids are relative to each set's data root, so two sets easily
    share ``track_001``; voting them together merges two plates. The metric
    refuses repeated frames, but only after the whole pass, and a shared id
    with distinct frame numbers passes it; this checks the ids up front (for
    training, the validation set before the first step).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._val_checked = False

    def before_train(self, runner) -> None:
        if runner.val_loop is not None:
            self._check_val(runner)
            said = frames_trained_on(runner.train_dataloader.dataset,
                                     runner.val_loop.dataloader.dataset)
            if said:
                print_log(f'The validation set {said}', logger='current', level=logging.WARNING)

    def before_val(self, runner) -> None:
        self._check_val(runner)

    def before_test(self, runner) -> None:
        self._check(runner.test_loop, 'the test set\'s')

    def _check_val(self, runner) -> None:
        if not self._val_checked:
            self._check(runner.val_loop, 'the validation set\'s')
            self._val_checked = True

    @staticmethod
    def _check(loop, what: str) -> None:
        check_evaluated_set(loop.dataloader.dataset,
                            getattr(getattr(loop, 'evaluator', None), 'metrics', ()), what)
