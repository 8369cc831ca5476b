"""TrackIdsCheckHook: sets concatenated with the same track ids stop the run
before they are read, where track accuracy would vote them as one plate."""
import pytest
import torch
import torch.nn as nn
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.model import BaseModel
from mmengine.runner import Runner

from dld.datasets import PairedPlateDataset
from dld.datasets.errors import RepeatedEvaluationError, SharedTrackIdError
from dld.engine.hooks.track_ids_check_hook import leaf_datasets, shared_track_ids
from dld.engine.launch import data_error_message

PIPELINE = [dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')]


class ReadsTheLabels(BaseModel):
    """Reads every plate right and counts the batches it was given."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.batches = 0

    def forward(self, inputs, data_samples=None, mode='tensor', **streams):
        if mode == 'loss':
            return dict(loss=(self.w ** 2).sum())
        self.batches += 1
        for sample in data_samples:
            sample.pred_text, sample.pred_score = sample.gt_text, 1.0
        return data_samples


def _paired_set(root, **extra):
    return dict(type='PairedPlateDataset', data_root=str(root), ann_file='train.txt',
                frames='all', test_mode=True, pipeline=PIPELINE, **extra)


def _copy(root, tmp_path):
    """The same plates in another folder: other images of the same track ids."""
    import shutil
    return shutil.copytree(root, tmp_path / 'copy')


def _loader(*sets):
    return dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='pseudo_collate'),
                dataset=dict(type='ConcatDataset', datasets=list(sets)))


def _test_runner(tmp_path, loader, metric='TrackAccuracyMetric'):
    return Runner(model=ReadsTheLabels(), work_dir=str(tmp_path / 'work'),
                  test_dataloader=loader, test_cfg=dict(type='TestLoop'),
                  test_evaluator=[dict(type=metric)],
                  default_hooks=dict(checkpoint=None),
                  custom_hooks=[dict(type='TrackIdsCheckHook')], default_scope='dld')


def test_two_sets_with_the_same_ids_stop_the_test_before_the_first_batch(paired_root,
                                                                           tmp_path):
    runner = _test_runner(tmp_path, _loader(_paired_set(paired_root),
                                            _paired_set(_copy(paired_root, tmp_path))))
    with pytest.raises(SharedTrackIdError) as info:
        runner.test()
    assert runner.model.batches == 0
    message = data_error_message(info.value)  # the tools print it as one line
    assert "the test set's part 1 (PairedPlateDataset, " in message
    assert 'part 2 (PairedPlateDataset, ' in message and 'train.txt)' in message
    assert "share 2 track id(s): 't0', 't1'" in message and 'track_prefix' in message


def test_a_prefix_per_set_keeps_them_apart_and_the_tracks_are_voted(paired_root, tmp_path):
    runner = _test_runner(tmp_path, _loader(
        _paired_set(paired_root), _paired_set(_copy(paired_root, tmp_path), track_prefix='cam2/')))
    metrics = runner.test()
    assert metrics['track/num_tracks'] == 4 and metrics['track/accuracy'] == 1.0
    assert runner.model.batches == 6  # 12 frames, 2 a batch


def test_shared_ids_are_left_alone_where_no_metric_votes_tracks(paired_root, tmp_path):
    runner = _test_runner(tmp_path, _loader(_paired_set(paired_root),
                                            _paired_set(_copy(paired_root, tmp_path))),
                          metric='PlateRecogMetric')
    assert runner.test()['plate/accuracy'] == 1.0


@pytest.mark.parametrize('metric', ['PlateRecogMetric', 'TrackAccuracyMetric'])
def test_one_image_in_two_parts_stops_the_test_whatever_the_metric(paired_root, tmp_path,
                                                                    metric):
    """One label file given twice (a prefix each) was scored twice: 12
    samples of 6 images, without a word."""
    runner = _test_runner(tmp_path, _loader(_paired_set(paired_root),
                                            _paired_set(paired_root, track_prefix='again/')),
                          metric=metric)
    with pytest.raises(RepeatedEvaluationError) as info:
        runner.test()
    assert runner.model.batches == 0
    message = data_error_message(info.value)
    assert message.startswith("the test set: part 1 (PairedPlateDataset, ")
    assert 'hold 6 frame(s) alike, e.g. ' in message and 'scored twice' in message


def test_a_repeating_wrapper_in_an_evaluation_stops_it(paired_root, tmp_path):
    """It scored each image twice, or (with track votes) stopped after the
    whole pass advising a track_prefix the sets already had."""
    loader = _loader(_paired_set(paired_root))
    loader['dataset'] = dict(type='RepeatDataset', times=2, dataset=_paired_set(paired_root))
    runner = _test_runner(tmp_path, loader, metric='PlateRecogMetric')
    with pytest.raises(RepeatedEvaluationError, match='holds a RepeatDataset'):
        runner.test()
    assert runner.model.batches == 0
    loader['dataset']['times'] = 1  # repeats nothing: scored once, as given
    assert _test_runner(tmp_path, loader, metric='PlateRecogMetric').test()[
        'plate/num_samples'] == 6


def test_sets_of_one_name_are_refused_where_a_metric_groups_by_set(paired_root, tmp_path):
    """a/plates/train.txt and b/plates/train.txt were both 'plates/train.txt':
    their accuracies pooled under one key."""
    import shutil
    other = shutil.copytree(paired_root, tmp_path / 'b' / 'plates')
    sets = _loader(_paired_set(paired_root), _paired_set(other))
    runner = Runner(model=ReadsTheLabels(), work_dir=str(tmp_path / 'work'),
                    test_dataloader=sets, test_cfg=dict(type='TestLoop'),
                    test_evaluator=[dict(type='PlateRecogMetric', group_by='set')],
                    default_hooks=dict(checkpoint=None),
                    custom_hooks=[dict(type='TrackIdsCheckHook')], default_scope='dld')
    with pytest.raises(SharedTrackIdError, match=r"are both named 'plates/train.txt'"):
        runner.test()


def test_training_checks_its_validation_sets_before_the_first_step(paired_root, tmp_path):
    train_set = dict(_paired_set(paired_root), test_mode=False)
    runner = Runner(model=ReadsTheLabels(), work_dir=str(tmp_path / 'work'),
                    train_dataloader=dict(_loader(train_set), dataset=train_set),
                    train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
                    val_dataloader=_loader(_paired_set(paired_root),
                                           _paired_set(_copy(paired_root, tmp_path))),
                    val_cfg=dict(type='ValLoop'), val_evaluator=[dict(type='TrackAccuracyMetric')],
                    default_hooks=dict(checkpoint=None),
                    custom_hooks=[dict(type='TrackIdsCheckHook')], default_scope='dld')
    with pytest.raises(SharedTrackIdError, match="the validation set's part 1"):
        runner.train()
    assert runner.iter == 0


def test_the_check_reads_the_ids_without_drawing_a_random_frame(paired_root):
    """A set of frames='random' draws an item's frame when asked for it; the
    check before training must leave its generator as it was."""
    def random_frames(**extra):
        return PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt',
                                  frames='random', pipeline=PIPELINE, seed=3, **extra)
    first, second = random_frames(), random_frames()
    before = first._rng.bit_generator.state
    found = shared_track_ids(ConcatDataset([first, second]))
    assert found[2] == ['t0', 't1'] and 'part 2 (PairedPlateDataset' in found[1]
    assert first._rng.bit_generator.state == before
    assert shared_track_ids(ConcatDataset([first, random_frames(track_prefix='b/')])) is None
    assert list(leaf_datasets(RepeatDataset(first, times=3))) == [first]  # read once
