"""tools/analysis/get_flops.py: FLOPs and parameters per candidate scale."""
import json
import os.path as osp

import pytest
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.join(HERE, '..', '..')


def _tool():
    return load_script('tools/analysis/get_flops.py')


TINY_DLD = '''
_rec = dict(type='TextRecognizer',
            backbone=dict(type='ResNetPlate', widths=(8, 8, 16, 16)),
            encoder=dict(type='BiLSTMEncoder', hidden_size=16, num_layers=1),
            decoder=dict(type='CTCDecoder'))
default_scope = 'dld'
model = dict(type='DLDDistiller', teacher=_rec, student=_rec, teacher_ckpt='absent.pth',
             scales=(1.0, 0.5, 0.3), selector=dict(type='ResolutionSelector', channels=(4, 8)),
             losses=dict(selector=dict(type='ResolutionSelectorLoss')))
'''


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / 'tiny_dld.py'
    path.write_text(TINY_DLD)
    return str(path)


def test_table_has_one_row_per_candidate_scale(tiny_config, capsys):
    assert _tool().main([tiny_config]) == 0
    out = capsys.readouterr().out
    for size in ('48x144', '24x72', '14x43'):
        assert size in out
    assert 'selector' in out and 'fused multiply-add' in out and 'parameters' in out


def test_json_flops_shrink_with_scale_and_include_the_selector(tiny_config, capsys):
    _tool().main([tiny_config, '--json'])
    table = json.loads(capsys.readouterr().out)
    gflops = [r['gflops'] for r in table['scales']]
    assert gflops == sorted(gflops, reverse=True) and gflops[-1] > 0
    # same architecture for teacher and student: scale 1 costs the teacher's FLOPs
    assert gflops[0] == pytest.approx(table['reference_gflops'])
    for r in table['scales']:
        assert r['gflops_with_selector'] == pytest.approx(r['gflops'] + table['selector_gflops'])
    assert table['params']['selector'] > 0


def test_recognizer_config_uses_given_scales(tmp_path, capsys):
    path = tmp_path / 'rec.py'
    path.write_text("default_scope = 'dld'\n" + TINY_DLD.split('default_scope')[0]
                    + 'model = _rec\n')
    _tool().main([str(path), '--scales', '1', '0.5', '--json'])
    table = json.loads(capsys.readouterr().out)
    assert [r['scale'] for r in table['scales']] == [1.0, 0.5]
    assert table['params'].keys() == {'model'}
