"""The groups a metric also reports each of (``group_by``)."""
import posixpath
from typing import Optional

from .sample_fields import sample_field

#: ``'folder'``: the folder above each track (the ICPR release's scenario
#: and layout); ``'set'``: the set each sample came from, among several
#: evaluated together (a ``ConcatDataset``'s parts, by ``set_name``).
GROUP_BY = ('folder', 'set')


def check_group_by(group_by: Optional[str], metric: str) -> None:
    if group_by is not None and group_by not in GROUP_BY:
        raise ValueError(f'{metric}: group_by must be None or one of {GROUP_BY}, '
                         f'got {group_by!r}')


def sample_group(sample, group_by: str) -> str:
    """The group of ``sample`` under ``group_by``."""
    if group_by == 'set':
        return str(sample_field(sample, 'set_name', default=None) or '.')
    return track_group(sample_field(sample, 'track_id', default=None))


def track_group(track_id: Optional[str]) -> str:
    """The folder above a track (``'Scenario-A/Brazilian'`` of
    ``'Scenario-A/Brazilian/track_00001'``); ``'.'`` for a track at the top."""
    return posixpath.dirname(str(track_id or '').replace('\\', '/').rstrip('/')) or '.'
