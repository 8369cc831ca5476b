"""group_by='set': the accuracy of each set evaluated together, where one
accuracy over several hid a set read at 0 %."""
import shutil

import pytest
from mmengine.dataset import pseudo_collate

from dld.datasets import ConcatDataset, PairedPlateDataset
from dld.evaluation import PlateRecogMetric, TrackAccuracyMetric

PIPELINE = [dict(type='LoadPlateImages'), dict(type='ResizePair'),
            dict(type='PackPlateInputs')]


def _set(root, **kw):
    return PairedPlateDataset(data_root=str(root), ann_file='train.txt', frames='all',
                              test_mode=True, pipeline=PIPELINE, **kw)


def test_each_set_has_a_name_its_items_carry(paired_root, tmp_path):
    assert _set(paired_root).set_name == 'plates/train.txt'
    assert _set(paired_root, track_prefix='cam2/').set_name == 'cam2'
    assert _set(paired_root)[0]['data_samples'].set_name == 'plates/train.txt'


@pytest.mark.parametrize('metric, key, count', [
    (PlateRecogMetric, 'plate/accuracy', 'plate/num_samples'),
    (TrackAccuracyMetric, 'track/accuracy', 'track/num_tracks')])
def test_the_accuracy_of_each_set_of_a_concatenation(paired_root, tmp_path, metric, key, count):
    other = shutil.copytree(paired_root, tmp_path / 'night')
    both = ConcatDataset([_set(paired_root, track_prefix='day/'),
                               _set(other, track_prefix='night/')])
    samples = pseudo_collate([both[i] for i in range(len(both))])['data_samples']
    for s in samples:  # the day set read right, the night set read wrong
        s.pred_text, s.pred_score = (s.gt_text if s.set_name == 'day' else 'WRONG'), 0.9
    scoring = metric(group_by='set')
    scoring.process({}, [s.to_dict() for s in samples])
    res = scoring.evaluate(len(samples))
    assert res[key] == pytest.approx(0.5)
    assert (res[f'{key}/day'], res[f'{key}/night']) == (1.0, 0.0)
    per_set = 6 if metric is PlateRecogMetric else 2  # 2 tracks of 3 frames
    assert res[f'{count}/day'] == res[f'{count}/night'] == per_set
    if metric is PlateRecogMetric:  # the figures words are read by, per set too
        assert (res['plate/one_minus_ned/day'], res['plate/char_accuracy/day']) == (1.0, 1.0)
        assert res['plate/one_minus_ned/night'] < 0.5
