"""MMEngine's ConcatDataset, RepeatDataset and ClassBalancedDataset, read
past their end as the next epochs of the sets they hold.

Why: :class:`~dld.datasets.EpochOffsetSampler` gives a set the indices
``epoch * len + i``, from which DLD's sets draw each epoch's augmentations
(``seed_pipeline``) and the online set its new plates. MMEngine's wrappers
fail on an index past their end, so through one the sampler read indices
``0 ... len-1`` every epoch: the same augmentations each epoch, the online
set the same plates, and every copy of a ``RepeatDataset`` pixel for pixel
the same image (one item, one seed); ``ClassBalancedDataset`` alike.
Registered in DLD's scope under MMEngine's names, so a config's
``ConcatDataset``, ``RepeatDataset`` or ``ClassBalancedDataset`` is one of
these; MMEngine's own behave as before within the first epoch.
"""
from collections import Counter
from typing import Iterator, List

from mmengine.dataset import ClassBalancedDataset as MMEngineClassBalancedDataset
from mmengine.dataset import ConcatDataset as MMEngineConcatDataset
from mmengine.dataset import RepeatDataset as MMEngineRepeatDataset

from dld.registry import DATASETS

from .seeded_pipeline import SeededPipelineMixin


def reads_past_end(dataset) -> bool:
    """Whether ``dataset`` reads an index ``>= len`` as item ``index % len``
    of a later epoch (its own draws for it)."""
    return isinstance(dataset, SeededPipelineMixin) or getattr(dataset, 'epoch_indices', False)


@DATASETS.register_module(name='ConcatDataset')
class ConcatDataset(MMEngineConcatDataset):
    """A ``ConcatDataset`` whose index ``epoch * len + i`` reads its item
    ``i`` at that epoch of the set holding it (``epoch * len(set) + j``);
    a set that reads no index past its end is read at ``j``. Only
    ``__getitem__`` reads past the end; ``get_data_info`` is the first
    epoch's, as MMEngine's.

    A part whose meta information differs names the keys (MMEngine said
    only which part), with ``ignore_keys`` to take it anyway.
    """

    epoch_indices = True

    def __init__(self, datasets, lazy_init: bool = False, ignore_keys=None) -> None:
        try:
            super().__init__(datasets, lazy_init=lazy_init, ignore_keys=ignore_keys)
        except ValueError as err:
            if 'meta information' not in str(err) or not getattr(self, 'datasets', None):
                raise
            raise ValueError(f'ConcatDataset: {_meta_difference(self.datasets, ignore_keys)}'
                             ) from None
        _say_online_sets_alike(self)

    def __getitem__(self, idx: int):
        if not self._fully_initialized:
            self.full_init()
        if idx < len(self):  # negative ones too
            return super().__getitem__(idx)
        epoch, idx = divmod(idx, len(self))
        part, sample = self._get_ori_dataset_idx(idx)
        dataset = self.datasets[part]
        return dataset[epoch * len(dataset) + sample if reads_past_end(dataset) else sample]

    def get_cat_ids(self, idx: int):
        """The categories of item ``idx`` (its part's), so a
        ``ClassBalancedDataset`` can balance a concatenation; MMEngine's
        ConcatDataset has none (an AttributeError from deep inside it)."""
        if not self._fully_initialized:
            self.full_init()
        part, sample = self._get_ori_dataset_idx(idx)
        return _cat_ids(self.datasets[part], sample)


@DATASETS.register_module(name='RepeatDataset')
class RepeatDataset(MMEngineRepeatDataset):
    """A ``RepeatDataset`` whose copies of an item are reads of it at other
    epochs of the set it repeats (index ``k`` is the set's ``k``: copy ``c``
    of epoch ``e`` is its epoch ``e * times + c``), so each copy draws its
    own augmentations; a set that reads no index past its end is read at
    ``k % len(set)``, as MMEngine's does."""

    epoch_indices = True

    def __getitem__(self, idx: int):
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:  # the item len + idx names, not copy 0 of it
            if -idx > len(self):
                raise IndexError(f'index {idx} of a RepeatDataset of {len(self)} items')
            idx += len(self)
        if not reads_past_end(self.dataset):
            return super().__getitem__(idx)
        return self.dataset[idx]

    def get_cat_ids(self, idx: int):
        """The categories of item ``idx`` (those of the item it copies)."""
        if not self._fully_initialized:
            self.full_init()
        return _cat_ids(self.dataset, self._get_ori_dataset_idx(idx))


@DATASETS.register_module(name='ClassBalancedDataset')
class ClassBalancedDataset(MMEngineClassBalancedDataset):
    """A ``ClassBalancedDataset`` whose repeats of an item are reads of it at
    other epochs of the set it holds, so each copy draws its own
    augmentations, and whose index past its end is a later epoch (MMEngine's
    gave every copy of an item, every epoch, the same image). A set that
    reads no index past its end is read as MMEngine's reads it."""

    epoch_indices = True

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        seen: Counter = Counter()
        self._copy_of = []  # which copy of its item each index is
        for index in self.repeat_indices:
            self._copy_of.append(seen[index])
            seen[index] += 1
        self._most_copies = max(seen.values(), default=1)

    def __getitem__(self, idx: int):
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f'index {idx} of a ClassBalancedDataset of {len(self)} items')
            idx += len(self)
        epoch, idx = divmod(idx, len(self))
        item = self.repeat_indices[idx]
        if not reads_past_end(self.dataset):
            return self.dataset[item]
        # copy c of epoch e: the set's epoch e * most_copies + c of that item
        read = epoch * self._most_copies + self._copy_of[idx]
        return self.dataset[read * len(self.dataset) + item]


def _cat_ids(dataset, idx: int):
    """``dataset.get_cat_ids(idx)``, or an error naming the set that has no
    categories (a ``ClassBalancedDataset`` over a mix holding one)."""
    try:
        return dataset.get_cat_ids(idx)
    except (AttributeError, NotImplementedError):
        raise TypeError(
            f'ClassBalancedDataset: {type(dataset).__name__} has no categories to balance '
            '(get_cat_ids); put ClassBalancedDataset around the sets on disk that have '
            'them, inside the ConcatDataset, rather than around a mix holding this one'
        ) from None


def _say_online_sets_alike(concat) -> None:
    """Warn of two online sets of one seed in ``concat``: plate ``i`` of
    each is drawn from the same seed, so the mix reads the same plates twice
    (pixel for pixel where their settings agree), not twice as many."""
    from mmengine.logging import print_log

    from .online_synth_plate_dataset import OnlineSynthPlateDataset
    seeds = Counter(d.seed for d in epoch_fed(concat)
                    if isinstance(d, OnlineSynthPlateDataset))
    alike = sorted(seed for seed, count in seeds.items() if count > 1)
    if alike:
        print_log(f'ConcatDataset: {sum(seeds[s] for s in alike)} OnlineSynthPlateDataset '
                  f"parts share seed {', '.join(map(str, alike))}: plate i of each is drawn "
                  'from the same seed (the same text where their layouts agree, a character or '
                  'two apart otherwise; the same image where all their settings agree). Give '
                  'each its own seed for plates of its own.', logger='current', level=30)


def epoch_fed(dataset) -> Iterator:
    """``dataset`` and the sets it holds that an index past its end reaches
    as a later epoch of theirs (through these wrappers), depth first."""
    if not reads_past_end(dataset):
        return
    yield dataset
    if isinstance(dataset, ConcatDataset):
        for part in dataset.datasets:
            yield from epoch_fed(part)
    elif isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        yield from epoch_fed(dataset.dataset)


def _meta_difference(datasets: List, ignore_keys) -> str:
    """Which meta information keys differ between the first part and
    another, and how to take the parts anyway."""
    ignored = [ignore_keys] if isinstance(ignore_keys, str) else list(ignore_keys or ())
    first = datasets[0].metainfo
    for i, dataset in enumerate(datasets[1:], 2):
        keys = sorted(k for k in set(first) | set(dataset.metainfo) if k not in ignored
                      and str(first.get(k)) != str(dataset.metainfo.get(k)))
        if keys:
            said = ', '.join(f'{k!r} ({first.get(k)!r} in part 1, {dataset.metainfo.get(k)!r} '
                             f'in part {i})' for k in keys[:3])
            hint = (' (the characters of their dictionaries: give every part, and the decoders,'
                    ' one dictionary)' if 'chars' in keys else '')
            return (f'part {i} ({type(dataset).__name__}) differs from part 1 in its meta '
                    f'information {said}{hint}; ignore_keys={keys!r} takes them anyway')
    return 'the parts differ in their meta information'
