"""Walking a dataset and those it wraps."""
from typing import Iterator


def nested_datasets(dataset) -> Iterator:
    """``dataset`` and those it wraps (ConcatDataset, RepeatDataset, ...),
    depth first; nothing for None."""
    if dataset is None:
        return
    yield dataset
    inner = getattr(dataset, 'datasets', None)
    for child in inner if isinstance(inner, (list, tuple)) else ():
        yield from nested_datasets(child)
    child = getattr(dataset, 'dataset', None)
    if child is not None and child is not dataset:
        yield from nested_datasets(child)
