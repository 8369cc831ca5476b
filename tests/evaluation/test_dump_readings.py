"""DumpReadings: tools/test.py --dump's pickle, whole or not at all."""
import pickle

import pytest
import torch

from dld.registry import METRICS


def _dump(path):
    metric = METRICS.build(dict(type='DumpReadings', out_file_path=str(path)))
    metric.process({}, [dict(pred_text='AB123', pred_score=torch.tensor(0.9))])
    return metric


def test_it_pickles_each_sample_s_fields_on_the_cpu(tmp_path):
    path = tmp_path / 'out' / 'preds.PKL'  # a folder not there yet; the suffix in any case
    assert _dump(path).evaluate(1) == {}
    [sample] = pickle.loads(path.read_bytes())
    assert sample['pred_text'] == 'AB123' and sample['pred_score'].device.type == 'cpu'


def test_a_failed_write_leaves_the_earlier_pickle_whole(tmp_path, monkeypatch):
    """MMEngine's DumpResults wrote straight to the path asked for: a run
    stopped while it wrote left half a pickle there."""
    path = tmp_path / 'preds.pkl'
    _dump(path).evaluate(1)
    before = path.read_bytes()

    def stopped(*args, **kwargs):
        args[1].write(b'half a pickle')
        raise KeyboardInterrupt
    monkeypatch.setattr(pickle, 'dump', stopped)
    with pytest.raises(KeyboardInterrupt):
        _dump(path).evaluate(1)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        'preds.pkl']  # no temporary file left


@pytest.mark.parametrize('metric', ['DumpResults', 'DumpReadings'])
def test_it_needs_no_prefix(tmp_path, metric):
    """test.py --dump logged MMEngine's "The prefix is not set" warning."""
    from unittest import mock
    with mock.patch('mmengine.evaluator.metric.print_log') as log:
        METRICS.build(dict(type=metric, out_file_path=str(tmp_path / 'p.pkl')))
    warned = any('prefix is not set' in str(c.args[0]) for c in log.call_args_list)
    assert warned == (metric == 'DumpResults')  # MMEngine's does: the test can see it


def test_it_takes_only_a_pickle():
    with pytest.raises(ValueError, match=r"out_file_path 'p.json' must end in .pkl"):
        METRICS.build(dict(type='DumpReadings', out_file_path='p.json'))
