"""What docs/customize.md promises a dataset subclass: implement iter_tracks()
and the base class does the rest; relative frame paths and raised (not
yielded) errors are named instead of failing far from their cause."""
import os.path as osp

import pytest

from dld.datasets import BasePlateDataset, PlateAnnotationError, TrackRecord
from dld.registry import DATASETS


@DATASETS.register_module(force=True)
class RowsPlateDataset(BasePlateDataset):
    """One track per ``(lr, hr, text)`` row of ``rows``; ``absolute`` joins
    the paths to ``data_root``, as a dataset must."""

    def __init__(self, rows, absolute=True, **kwargs):
        self.rows = rows
        self.absolute = absolute
        super().__init__(**kwargs)

    def iter_tracks(self):
        for i, (lr, hr, text) in enumerate(self.rows, 1):
            if text is None:
                yield PlateAnnotationError(f'rows:{i}', 'no label column')
                continue
            join = (lambda p: osp.join(self.data_root, p)) if self.absolute else (lambda p: p)
            yield TrackRecord(where=f'rows:{i}', track_id=f'row{i}', lr_paths=[join(lr)],
                              hr_paths=[join(hr)], text=text)


ROWS = [('t0/lr-0.png', 't0/hr-0.png', 'ABC1234'), ('t1/lr-0.png', 't1/hr-0.png', 'XYZ9A87')]


def _build(paired_root, **kwargs):
    return DATASETS.build(dict(type='RowsPlateDataset', data_root=str(paired_root),
                               pipeline=[], **kwargs))


def test_a_subclass_that_yields_records_gives_one_item_per_frame(paired_root):
    dataset = _build(paired_root, rows=ROWS)
    assert len(dataset) == 2
    item = dataset.get_data_info(0)
    assert item['gt_text'] == 'ABC1234' and osp.isabs(item['lr_path'])


def test_relative_frame_paths_are_named_at_their_row(paired_root):
    with pytest.raises(PlateAnnotationError, match=r"rows:1.*'t0/lr-0.png' is relative"):
        _build(paired_root, rows=ROWS, absolute=False)


def test_a_yielded_error_is_skipped_when_not_strict(paired_root):
    dataset = _build(paired_root, rows=[ROWS[0], ('x', 'y', None), ROWS[1]], strict=False)
    assert len(dataset) == 2 and dataset.num_bad_annotations == 1


@DATASETS.register_module(force=True)
class SameIdPlateDataset(RowsPlateDataset):
    """Every row under one track id: a mistake a CSV reader makes."""

    def iter_tracks(self):
        for rec in super().iter_tracks():
            if isinstance(rec, TrackRecord):
                rec.track_id = 'one'
            yield rec


def test_two_tracks_under_one_id_are_named_where_the_second_is_given(paired_root):
    """Else their frames were voted as one track, and the track metric
    refused only after an epoch, advising a track_prefix."""
    with pytest.raises(PlateAnnotationError,
                       match=r"rows:2: track id 'one' is given already by rows:1"):
        DATASETS.build(dict(type='SameIdPlateDataset', data_root=str(paired_root),
                            pipeline=[], rows=ROWS))
    dataset = DATASETS.build(dict(type='SameIdPlateDataset', data_root=str(paired_root),
                                  pipeline=[], rows=ROWS, strict=False))
    assert len(dataset) == 1 and dataset.num_bad_annotations == 1


def test_a_subclass_without_iter_tracks_is_told_what_to_define(paired_root):
    @DATASETS.register_module(force=True)
    class NoTracksPlateDataset(BasePlateDataset):
        pass

    with pytest.raises(NotImplementedError, match='NoTracksPlateDataset must define '
                                                  r'iter_tracks\(\)'):
        DATASETS.build(dict(type='NoTracksPlateDataset', data_root=str(paired_root),
                            pipeline=[]))


@DATASETS.register_module(force=True)
class ParsesAndRaisesDataset(RowsPlateDataset):
    """A reader that parses each row with code that raises on a bad one."""

    def iter_tracks(self):
        for i, rec in enumerate(super().iter_tracks(), 1):
            if i == 2:
                int('not a number')  # the reader's own parsing fails on its second row
            yield rec


def test_an_error_a_reader_raises_names_the_set_the_track_before_and_the_code(paired_root):
    """It was the error alone ('invalid literal for int()'), placed in the
    reader's code, with no word of the data (an extension journey)."""
    with pytest.raises(PlateAnnotationError) as info:
        DATASETS.build(dict(type='ParsesAndRaisesDataset', data_root=str(paired_root),
                            pipeline=[], rows=ROWS))
    said = str(info.value)
    assert 'ParsesAndRaisesDataset.iter_tracks failed after rows:1: ValueError: invalid ' \
        "literal for int() with base 10: 'not a number' (raised at " in said
    assert f'{__file__}:' in said and 'strict=False skips' in said


@DATASETS.register_module(force=True)
class ParsesJsonDataset(RowsPlateDataset):
    """A reader whose bad row fails inside the standard library's parser."""

    def iter_tracks(self):
        import json
        for i, rec in enumerate(super().iter_tracks(), 1):
            json.loads('{"row": ' + ('2}' if i == 1 else '}'))  # row 2 is not JSON
            yield rec


def test_the_line_named_is_the_reader_s_not_the_library_s(paired_root):
    """'raised at .../json/decoder.py:353' named the library, not the
    reader's line that called it (a recheck)."""
    with pytest.raises(PlateAnnotationError) as info:
        DATASETS.build(dict(type='ParsesJsonDataset', data_root=str(paired_root),
                            pipeline=[], rows=ROWS))
    assert f'(raised at {__file__}:' in str(info.value) and 'decoder.py' not in str(info.value)
