"""tools/analysis/get_flops.py: FLOPs and parameters per candidate scale."""
import json
import os.path as osp
import sys

import pytest
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.join(HERE, '..', '..')
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from attention_dld import DECODER, beam_flops_by_parts  # noqa: E402


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


def test_a_model_without_a_selector_has_no_selector_column_or_count(tmp_path, capsys):
    """A fixed-scale model showed a column of dashes and 'selector 0.0 K'."""
    path = tmp_path / 'fixed.py'
    path.write_text(TINY_DLD.replace("scales=(1.0, 0.5, 0.3), selector=dict(type="
                                     "'ResolutionSelector', channels=(4, 8)),",
                                     'selector=None, fixed_scale=0.5,').replace(
        "losses=dict(selector=dict(type='ResolutionSelectorLoss'))", 'losses=dict()'))
    assert _tool().main([str(path)]) == 0
    out = capsys.readouterr().out
    assert '+ selector' not in out and 'selector 0.0 K' not in out
    assert 'selector: none (every image is read at the fixed scale)' in out


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


def test_a_training_only_head_is_left_out_of_the_parameters(tmp_path, capsys):
    rec = TINY_DLD.split('default_scope')[0]
    counts = []
    for model in ('_rec', "dict(_rec, aux_decoder=dict(type='CTCDecoder'))"):
        path = tmp_path / 'rec.py'
        path.write_text(f"default_scope = 'dld'\n{rec}model = {model}\n")
        _tool().main([str(path), '--scales', '1', '--json'])
        table = json.loads(capsys.readouterr().out)
        counts.append((table['params']['model'], table['scales'][0]['gflops']))
    assert counts[0] == counts[1] and counts[0][0] > 0


def test_beam_width_counts_the_decoder_on_every_hypothesis(tmp_path, capsys):
    from dld.apis.model_loading import build_model_for_inference, load_config
    path = tmp_path / 'attn.py'
    path.write_text(TINY_DLD.replace("dict(type='CTCDecoder')", repr(DECODER)))
    _tool().main([str(path), '--beam-width', '3', '--json'])
    table = json.loads(capsys.readouterr().out)
    assert table['decoding'] == 'beam search of width 3'
    student = build_model_for_inference(load_config(str(path)).model).student.eval()
    for row in table['scales']:
        assert row['gflops'] * 1e9 == pytest.approx(
            beam_flops_by_parts(student, row['scale'], 3), rel=1e-12)
        assert row['greedy_gflops'] * 1e9 == pytest.approx(
            beam_flops_by_parts(student, row['scale'], 1), rel=1e-12)
        assert row['gflops_with_selector'] == pytest.approx(
            row['gflops'] + table['selector_gflops'])
    # the reference is the teacher (here the student's architecture) decoding greedily
    assert table['reference_gflops'] == pytest.approx(table['scales'][0]['greedy_gflops'])


def test_cfg_options_reach_the_model_and_a_pair_without_a_value_is_named(tiny_config, capsys):
    _tool().main([tiny_config, '--json', '--cfg-options', 'model.scales=[1.0,0.3]'])
    table = json.loads(capsys.readouterr().out)
    assert [r['scale'] for r in table['scales']] == [1.0, 0.3]
    with pytest.raises(SystemExit):
        _tool().main([tiny_config, '--cfg-options', 'model.scales'])
    assert "--cfg-options takes key=value pairs (e.g. model.test_cfg.decode=beam), got " \
        "'model.scales'" in capsys.readouterr().err


def test_shape_sets_a_distillers_base_size(tiny_config, capsys):
    """The FLOPs of another base size, the teacher's reference included (it
    was refused unless it equalled model.base_size, which the docs' example
    did not)."""
    assert _tool().main([tiny_config, '--shape', '32', '96', '--json']) == 0
    table = json.loads(capsys.readouterr().out)
    assert table['base_size'] == [32, 96]
    assert [r['input_size'] for r in table['scales']] == [[32, 96], [16, 48], [10, 29]]
    assert _tool().main([tiny_config, '--json']) == 0
    full = json.loads(capsys.readouterr().out)
    assert full['reference_gflops'] > table['reference_gflops']


def test_a_refused_setting_is_one_line_and_exit_status_2(tiny_config, capsys):
    assert _tool().main([tiny_config, '--cfg-options', 'model.test_cfg.reread.scales=[0.5]']) == 2
    err = capsys.readouterr().err
    assert err.startswith('get_flops.py: test_cfg.reread must be dict(min_score=')
    assert 'Traceback' not in err


@pytest.mark.parametrize('value', ['0', '-0.5', '4.5'])
def test_a_scale_outside_0_to_4_is_an_argument_error_as_in_the_other_tools(capsys, value):
    with pytest.raises(SystemExit) as info:
        _tool().parse_args(['dld.py', '--scales', '1.0', value])
    assert info.value.code == 2
    assert f'--scales must be in (0, 4], got {value}' in capsys.readouterr().err


def test_parameter_counts_below_a_thousand_are_counted_not_rounded_to_zero():
    """A 12-parameter selector read '0.0 K' (a researcher's journey)."""
    params = _tool()._params
    assert (params(12), params(2_500), params(1_234_567)) == ('12', '2.5 K', '1.235 M')


def test_an_op_counted_as_zero_is_said_below_the_table_too(tiny_config, capsys, monkeypatch):
    """The table of a model with an op no handle counts (a contributor's
    own layer) read as whole: the op was named only in a warning logged
    before it, as the report.md of flops_accuracy.py names it."""
    from dld.models.distillers import scale_costs
    from dld.utils import flop_counter, flops
    monkeypatch.setattr(scale_costs, '_FLOPS_CACHE', {})
    # the student's LSTM as an op of one's own: no handle counts it
    monkeypatch.delitem(flops.EXTRA_FLOP_HANDLES, 'aten::lstm')
    monkeypatch.delitem(flop_counter.DISPATCH_HANDLES, 'aten::mkldnn_rnn_layer')
    assert _tool().main([tiny_config]) == 0
    out = capsys.readouterr().out
    tail = out[out.index('parameters:'):]
    assert 'uncounted: no FLOP count for aten::lstm' in tail
    assert 'lower bounds' in tail
    monkeypatch.undo()
    assert _tool().main([tiny_config]) == 0
    assert 'uncounted' not in capsys.readouterr().out
