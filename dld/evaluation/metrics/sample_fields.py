"""Reading fields of a data sample the way the evaluator hands it over.

MMEngine's ``Evaluator.process`` turns each :class:`PlateDataSample` into a
flat dict (data and meta fields together) before the metrics see it; tests
and scripts may pass the data sample itself. Both are accepted.
"""
from typing import Any

_MISSING = object()


def sample_field(sample: Any, key: str, default: Any = _MISSING,
                 required: bool = False, metric: Any = None) -> Any:
    """``sample[key]`` for a dict, ``sample.get(key)`` for a data element.

    Raises:
        KeyError: ``required`` and the field is absent; the message names
            the metric and the field.
    """
    value = sample.get(key, _MISSING)
    if value is _MISSING and hasattr(sample, 'metainfo'):
        value = sample.metainfo.get(key, _MISSING)
    if value is _MISSING:
        if required or default is _MISSING:
            who = type(metric).__name__ if metric is not None else 'metric'
            present = sorted(sample.keys()) if hasattr(sample, 'keys') else []
            raise KeyError(
                f'{who} needs `{key}` in every data sample, but one has only '
                f'{present}. Check that the pipeline packs it (PackPlateInputs '
                'meta_keys) and that the model sets its predictions.')
        return default
    return value
