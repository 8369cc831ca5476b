"""benchmarks/paired_lead.py: the lead of DLD over the no-KD student, paired by
image, with an interval from resampling tracks."""
import json
import os.path as osp

import numpy as np
import pytest
from repo_scripts import load_script

from dld.apis.flops_accuracy import FlopsAccuracyEvaluator

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _module():
    return load_script('benchmarks/paired_lead.py')


def test_the_lead_counts_the_images_only_one_student_reads():
    lead = _module().paired_lead
    dld = np.array([1, 1, 0, 0, 1, 1], dtype=bool)
    base = np.array([1, 0, 0, 1, 0, 1], dtype=bool)
    r = lead(dld, base, np.array(['a', 'a', 'b', 'b', 'c', 'c']))
    assert (r['only_dld'], r['only_baseline'], r['frames'], r['tracks']) == (2, 1, 6, 3)
    assert r['lead'] == pytest.approx(100 / 6)
    assert r['dld'] == pytest.approx(400 / 6) and r['baseline'] == pytest.approx(50)
    assert r['low'] <= r['lead'] <= r['high'] and r['low'] < r['high']
    same = lead(dld, dld, np.arange(6))
    assert same['lead'] == same['low'] == same['high'] == 0
    one_track = lead(dld, base, np.zeros(6))  # every resample is that track
    assert one_track['low'] == one_track['high'] == pytest.approx(100 / 6)


def test_the_interval_resamples_tracks_not_frames():
    """Frames of a track read alike: 20 tracks of 5 frames, a third read only by
    DLD. Resampling frames as if independent gives too narrow an interval."""
    lead = _module().paired_lead
    rng = np.random.default_rng(1)
    per_track = rng.random(20) < 1 / 3
    dld = np.repeat(per_track, 5)
    base = np.zeros(100, dtype=bool)
    tracks = lead(dld, base, np.repeat(np.arange(20), 5))
    frames = lead(dld, base, np.arange(100))
    assert tracks['lead'] == frames['lead']
    assert tracks['high'] - tracks['low'] > 1.5 * (frames['high'] - frames['low'])


def test_the_interval_refuses_inputs_it_cannot_pair():
    from dld.evaluation.paired_bootstrap import paired_difference
    right = np.array([1, 0, 1], dtype=bool)
    with pytest.raises(ValueError, match='one group per image.*3 images'):
        paired_difference(right, right, ['a', 'b'])
    with pytest.raises(ValueError, match='level is a fraction'):
        paired_difference(right, right, ['a', 'b', 'c'], level=95)
    with pytest.raises(ValueError, match='NaN'):
        paired_difference([1.0, float('nan')], [1.0, 0.0], ['a', 'b'])


def test_the_table_names_its_baseline():
    module = _module()
    row = dict(scale=0.8, **module.paired_lead(np.array([1, 0], dtype=bool),
                                               np.array([0, 0], dtype=bool), np.arange(2)))
    table = module.lead_table([row], 'no-teacher-losses')
    assert 'no-teacher-losses (%)' in table and 'only no-teacher-losses reads' in table
    assert 'no-KD' not in table and '| 0.8x ' in table and '+50.00' in table


@pytest.mark.slow
def test_paired_lead_reads_what_the_report_reads(tiny_run, tmp_path, capsys):
    out = tmp_path / 'lead.json'
    args = [tiny_run['config'], tiny_run['student'], '--baseline-ckpt', tiny_run['baseline'],
            '--baseline-config', tiny_run['baseline_config'], '--scales', '1', '0.4']
    assert _module().main([*args, '--json', str(out), '--resamples', '200']) == 0
    rows = {r['scale']: r for r in json.loads(out.read_text())['rows']}
    assert sorted(rows) == [0.4, 1.0]
    report = FlopsAccuracyEvaluator(
        tiny_run['config'], tiny_run['student'], baseline_checkpoint=tiny_run['baseline'],
        baseline_config=tiny_run['baseline_config'], scales=[1.0, 0.4]).evaluate()
    acc = {m['method']: 100 * m['accuracy'] for m in report['methods']}
    for s, r in rows.items():
        assert r['dld'] == pytest.approx(acc[f'dld@{s:g}'])
        assert r['baseline'] == pytest.approx(acc[f'nokd@{s:g}'])
        assert r['lead'] == pytest.approx(100 * (r['only_dld'] - r['only_baseline'])
                                          / r['frames'])
        assert r['low'] <= r['lead'] <= r['high']
        assert r['frames'] == report['num_images'] and 1 < r['tracks'] < r['frames']
    table = capsys.readouterr().out
    assert '| 0.4x ' in table and 'only DLD reads' in table and 'only no-KD reads' in table
