"""Typed errors of the data side, so callers can tell bad data from bugs."""


class PlateAnnotationError(ValueError):
    """An annotation (label line or track folder) is malformed.

    Args:
        where (str): ``'file:line'`` or a folder path, so the user can find it.
        reason (str): what is wrong and, where useful, what to do.

    ``track_id``: the id of the track a label line was refused as (the
    dataset sets it: ``line<N>`` for a line refused before its paths were
    read), so that inference votes its error in that track; None elsewhere.
    """

    track_id = None

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f'{where}: {reason}')


class ImageLoadError(OSError):
    """An image is missing or cannot be decoded.

    Raised by :class:`LoadPlateImages`; in train mode the plate datasets catch
    it, log the path, and retry another index (see ``max_retry``); in test
    mode they raise it again naming the item and its label line.
    """

    def __init__(self, path: str, reason: str, hint: str = '') -> None:
        self.path = path
        self.reason = reason
        super().__init__(f'{reason}: {path}' + (f'. {hint}' if hint else ''))


class RetryExhaustedError(RuntimeError):
    """Every retry after an :class:`ImageLoadError` failed as well."""


class SharedTrackIdError(ValueError):
    """Two sets evaluated together give the same track id (their frames would
    be voted as one plate) or, grouped by set, the same name. Raised before
    the sets are read."""


class RepeatedEvaluationError(ValueError):
    """An evaluation set would score images more than once: a repeating
    wrapper, or one image in two of its parts. Raised before it is read."""


class DataSourceError(OSError):
    """A set's files are not where its config points, or its folder holds a
    set that can be neither read nor replaced. The tools end with its line,
    which names the path and the setting that points at it."""


class DataNotFoundError(DataSourceError, FileNotFoundError):
    """A label file, track list, data root or split file is not there."""


class PlateSetExistsError(DataSourceError, FileExistsError):
    """A folder holds a plate set that generating would mix new frames into."""

