"""benchmarks/mixed_precision_inference.py: float32 against --amp on the same images."""
import json
import os.path as osp

import pytest
from repo_scripts import load_script
from tiny_dld import SCALES

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

pytestmark = pytest.mark.slow


def _module():
    return load_script('benchmarks/mixed_precision_inference.py')


def test_reads_every_scale_and_the_selector_both_ways(tiny_run, tmp_path, monkeypatch):
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    out = tmp_path / 'amp.json'
    labels = osp.join(tiny_run['data'], 'test.txt')
    assert _module().main([tiny_run['config'], tiny_run['student'], labels, '--rounds', '1',
                           '--batch-size', '8', '--json', str(out)]) == 0
    res = json.loads(out.read_text())
    assert res['dtype'] == 'bfloat16'
    assert [r['read'] for r in res['rows']] == [f'{s:g}x' for s in SCALES] + ['selector']
    with open(labels) as f:
        frames = sum(len(line.split('|')[0].split(',')) for line in f if line.strip())
    for row in res['rows']:
        assert row['images'] == frames
        assert 0 <= row['acc_amp'] <= 100 and 0 <= row['same_readings_pct'] <= 100
        assert row['speed_up'] == pytest.approx(row['images_per_s_amp']
                                                / row['images_per_s_float32'])


def test_says_so_where_mixed_precision_is_not_faster(tiny_run, monkeypatch, capsys):
    from dld.utils import precision
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: False)
    labels = osp.join(tiny_run['data'], 'test.txt')
    assert _module().main([tiny_run['config'], tiny_run['student'], labels]) == 1
    assert 'not faster on this machine' in capsys.readouterr().out
