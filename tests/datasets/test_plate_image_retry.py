"""Unreadable images at run time: retried, logged, counted, never silent."""
import os.path as osp
import re
from unittest import mock

import pytest

from dld.datasets import ImageLoadError, PairedPlateDataset, RetryExhaustedError

PIPELINE = [dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')]


def dataset(root, **kw):
    return PairedPlateDataset(data_root=str(root), ann_file='train.txt', frames='first',
                              pipeline=PIPELINE, seed=0, **kw)


def test_test_mode_stops_at_an_unreadable_image_naming_it_and_its_line(paired_root):
    # A substitute would be scored twice and the broken item not at all.
    bad = paired_root / 't1' / 'lr-0.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n not really')
    ds = dataset(paired_root, test_mode=True)
    assert ds.max_retry == 0
    assert ds[0]['data_samples'].track_id == 't0'
    with pytest.raises(ImageLoadError) as info:
        ds[1]
    msg = str(info.value)
    assert info.value.path == str(bad) and str(bad) in msg
    assert re.search(r'item 1 \(.*train\.txt:2\)', msg), msg
    assert 'fix the image or remove its line, or pass max_retry > 0' in msg
    assert ds.num_skipped_images == 0


def test_corrupt_png_is_skipped_logged_and_counted_when_asked(paired_root):
    (paired_root / 't0' / 'lr-0.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    ds = dataset(paired_root, test_mode=True, max_retry=5)
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        out = ds[0]
    assert out['data_samples'].track_id == 't1'  # the next readable item
    assert ds.num_skipped_images == 1
    assert ds.skipped_paths == [str(paired_root / 't0' / 'lr-0.png')]
    message = log.call_args.args[0]
    assert 'lr-0.png' in message and 'decode' in message
    # the line that lists it, where a wrong path is fixed
    assert message.startswith(f"PairedPlateDataset: skipping item 0 of {paired_root}/train.txt:1 (")


def test_missing_hr_file_is_retried_in_train_mode(paired_root):
    (paired_root / 't1' / 'hr-0.png').unlink()
    ds = dataset(paired_root)
    assert ds.max_retry == 5
    with mock.patch('dld.datasets.base_plate_dataset.print_log'):
        out = ds[1]
    assert out['data_samples'].track_id == 't0'
    assert ds.num_skipped_images >= 1
    assert all(p.endswith('hr-0.png') for p in ds.skipped_paths)


def test_exhausted_retries_raise_a_clear_error(paired_root):
    for t in ('t0', 't1'):
        (paired_root / t / 'lr-0.png').unlink()
    ds = dataset(paired_root, max_retry=3, test_mode=True)
    with mock.patch('dld.datasets.base_plate_dataset.print_log'):
        # both items tried once: no third read of a broken one
        with pytest.raises(RetryExhaustedError, match=r'2 consecutive unreadable.*max_retry=3'
                           r'; that is every item of the set'
                           r'(?s:.*)lr-0\.png.*\(.*train\.txt:2\)'):
            ds[0]
    assert ds.num_skipped_images == 2


def test_a_training_substitute_is_never_an_item_that_failed(tmp_path):
    """The random substitute was drawn among every item, the broken one too:
    a small source with one broken track stopped a run with "6 consecutive
    unreadable item(s)", the one track six times."""
    from plate_files import write_png
    lines = []
    for t in range(3):
        for side in ('lr', 'hr'):
            write_png(str(tmp_path / f't{t}' / f'{side}-0.png'), 20, 60)
        lines.append(f't{t}/lr-0.png|t{t}/hr-0.png\tABC123{t}')
    (tmp_path / 'train.txt').write_text('\n'.join(lines) + '\n')
    for t in (0, 1):
        (tmp_path / f't{t}' / 'lr-0.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    ds = PairedPlateDataset(data_root=str(tmp_path), ann_file='train.txt', pipeline=PIPELINE,
                            max_retry=2, seed_pipeline=True)
    with mock.patch('dld.datasets.base_plate_dataset.print_log'):
        for i in range(0, 300, 3):  # item 0 of 100 epochs: at most t1, then t2
            assert ds[i]['data_samples'].track_id == 't2'



def test_an_image_opencv_refuses_is_skipped_and_counted_in_train_mode(paired_root,
                                                                      write_oversized_png):
    bad = write_oversized_png(paired_root / 't0' / 'lr-0.png')
    ds = dataset(paired_root)
    out = ds[0]
    assert out['data_samples'].track_id == 't1'
    assert ds.num_skipped_images >= 1 and set(ds.skipped_paths) == {str(bad)}


@pytest.mark.parametrize('context', ['fork', pytest.param('spawn', marks=pytest.mark.slow)])
def test_skips_in_dataloader_workers_are_counted_in_the_main_process(paired_root, context):
    # The workers read the items; a count kept in their copies of the set
    # never reached the process that logs the epoch's summary.
    import torch
    from mmengine.dataset import pseudo_collate
    (paired_root / 't0' / 'lr-0.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='all',
                            pipeline=PIPELINE, test_mode=True, max_retry=1)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2,
                                         multiprocessing_context=context,
                                         collate_fn=pseudo_collate)
    for epoch in (1, 2):
        read = [osp.basename(s.lr_path) for batch in loader for s in batch['data_samples']]
        assert read[:3] == ['lr-1.png', 'lr-1.png', 'lr-2.png']  # t0's frame 1 for frame 0
        assert ds.num_skipped_images == epoch


def test_a_substitute_asked_for_in_test_mode_does_not_stop_the_track_vote(paired_root):
    """The error's own advice (max_retry > 0) made TrackAccuracyMetric fail after
    the whole pass: the next frame, read in the broken one's place, was a frame
    its track held twice, "two evaluated sets share this track id" (one set)."""
    from dld.evaluation import PlateRecogMetric, TrackAccuracyMetric
    (paired_root / 't0' / 'lr-1.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='all',
                            pipeline=PIPELINE, test_mode=True, max_retry=1)
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    assert [s.metainfo.get('substitute', False) for s in samples] == [
        False, True, False, False, False, False]  # frame 2 of t0 read in frame 1's place
    for s in samples:
        s.pred_text, s.pred_score = s.gt_text, 0.9
    track, plate = TrackAccuracyMetric(), PlateRecogMetric()
    for metric in (track, plate):
        metric.process({}, [s.to_dict() for s in samples])
    with mock.patch('dld.evaluation.metrics.track_accuracy_metric.print_log') as log:
        out = track.evaluate(len(samples))
    assert out['track/num_tracks'] == 2 and out['track/accuracy'] == 1.0
    assert out['track/num_frames'] == 5  # the substitute is no vote of its own
    assert 'left out of the track votes' in log.call_args.args[0]
    assert plate.evaluate(len(samples))['plate/num_samples'] == 6  # as documented
