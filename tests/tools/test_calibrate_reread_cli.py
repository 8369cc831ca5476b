"""tools/calibrate_reread.py: the setting it picks is what the report then measures."""
import json
import os.path as osp
import sys
from unittest import mock

import pytest

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from tiny_dld import SCALES, make_tiny_run  # noqa: E402


@pytest.mark.slow
def test_calibrated_setting_deploys_with_the_printed_cfg_options(tmp_path_factory, tmp_path,
                                                                   capsys, load_tool):
    from dld.apis import reread_calibration
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    calibrate, report = load_tool('calibrate_reread'), load_tool('flops_accuracy')
    out = tmp_path / 'reread.json'

    def rereading(readings, *args, **kwargs):
        # On its 12 test images no reread of the tiny student reads more
        # plates than its selector alone, so the calibration would deploy
        # none. Deploy one that rereads (every image below the largest scale
        # it is not already at): what is checked is that the printed setting
        # is what the report then measures.
        for scale in sorted(SCALES, reverse=True):
            setting = reread_calibration.replay(readings, 1.0, (scale, ))
            if setting.reread_fraction > 0:
                return setting, [setting]
        raise AssertionError('the tiny run reads every image at its largest scale')

    # Calibrated on the test split here only so that the report must agree exactly.
    with mock.patch.object(reread_calibration, 'calibrate', rereading):
        assert calibrate.main([run['config'], run['student'], '--split', 'test',
                               '--json', str(out), '--device', 'cpu']) == 0
    printed = capsys.readouterr().out
    calibration = json.loads(out.read_text())
    chosen, alone = calibration['chosen'], calibration['selector_alone']
    assert chosen['reread_fraction'] > 0
    options = printed.split('--cfg-options ')[-1].split()
    assert options[0] == f"model.test_cfg.reread.min_score={chosen['min_score']:g}"
    assert report.main([run['config'], run['student'], '--out', str(tmp_path / 'rep'),
                        '--device', 'cpu', '--cfg-options', *options]) == 0
    rep = json.loads((tmp_path / 'rep' / 'report.json').read_text())
    rows = {r['method']: r for r in rep['methods']}
    assert rows['dld_selector']['accuracy'] == pytest.approx(alone['accuracy'])
    assert rows['dld_reread']['accuracy'] == pytest.approx(chosen['accuracy'])
    assert rows['dld_reread']['gflops'] / rep['teacher_gflops'] == \
        pytest.approx(chosen['relative_flops'])
    # The oracle reads as many plates (more, where the smallest scale alone
    # reads more: every image starts there) for no more FLOPs.
    matched, floor = rows['oracle_matched_reread'], rows[f'dld@{min(SCALES):g}']
    assert matched['accuracy'] == pytest.approx(max(chosen['accuracy'], floor['accuracy']))
    assert matched['gflops'] <= rows['dld_reread']['gflops']


@pytest.mark.slow
def test_no_setting_within_the_budget_fails_clearly(tmp_path_factory, capsys, load_tool):
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    tool = load_tool('calibrate_reread')
    out = tmp_path_factory.mktemp('nothing_fits') / 'calibration.json'
    assert tool.main([run['config'], run['student'], '--max-flops', '0.001',
                      '--split', 'test', '--device', 'cpu', '--json', str(out)]) == 1
    # the selector alone costs more already: said, and what was measured kept
    assert "No setting fits 0 % of the teacher's FLOPs; the selector alone is already at" in \
        capsys.readouterr().err
    written = json.loads(out.read_text())
    alone = written['selector_alone']
    assert written['chosen'] is None
    # what it measured: no reread, over the 0.1 % budget (the reason nothing fits)
    assert alone['scales'] == [] and alone['reread_fraction'] == 0
    assert alone['relative_flops'] > 0.001 and 0 <= alone['accuracy'] <= 1
    # A forced scale would read the selector's rows at one scale: refused.
    assert tool.main([run['config'], run['student'], '--split', 'test', '--device', 'cpu',
                      '--cfg-options', 'model.test_cfg.force_scale=0.5']) == 2
    assert 'model.test_cfg.force_scale=0.5' in capsys.readouterr().err
    # The tiny config has no validation split, the default.
    assert tool.main([run['config'], run['student'], '--device', 'cpu']) == 2
    assert 'has no val_dataloader' in capsys.readouterr().err
    # A reread scale the selector cannot choose: named, before any image is read.
    with mock.patch('dld.apis.reread_calibration.collect_readings') as collect:
        assert tool.main([run['config'], run['student'], '--split', 'test', '--device', 'cpu',
                          '--scales', '0.7', '1']) == 2
    assert not collect.called
    scales = ' '.join(f'{s:g}' for s in sorted(SCALES))
    assert f'--scales 0.7: not candidate scales of {run["config"]}, which are {scales}' in \
        capsys.readouterr().err


@pytest.mark.slow
def test_a_best_setting_that_rereads_nothing_is_not_printed_as_chosen(tmp_path_factory, capsys,
                                                                       load_tool):
    from dld.apis.reread_calibration import CascadeResult
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    nothing = CascadeResult(0.0, (0.4, ), 0.5, 0.3, 0.0)
    out = tmp_path_factory.mktemp('calibration') / 'c.json'
    with mock.patch('dld.apis.reread_calibration.calibrate', return_value=(nothing, [nothing])):
        assert load_tool('calibrate_reread').main(
            [run['config'], run['student'], '--split', 'test', '--device', 'cpu',
             '--json', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'Chosen' not in printed and 'leave model.test_cfg.reread off' in printed
    # not a table of headers alone, nor a 'chosen' setting for a script to apply
    # every chain fits the budget, its best setting rereading nothing: said so, not that
    # none fits (a CTC journey, at a 200 % budget)
    assert '(no chain gains by rereading: the best setting of each rereads no image)' in printed
    written = json.loads(out.read_text())
    assert written['chosen'] is None and written['advice'] == 'leave reread off'


def test_printed_table_leaves_out_chains_that_change_nothing(load_tool):
    from dld.apis.reread_calibration import CascadeResult
    tool = load_tool('calibrate_reread')
    short = CascadeResult(0.8, (0.5, 0.8), 0.99, 0.28, 0.1)
    longer = CascadeResult(0.8, (0.4, 0.5, 0.8), 0.99, 0.28, 0.1)  # 0.4 never reached
    other = CascadeResult(0.7, (0.8,), 0.98, 0.27, 0.08)
    assert tool._distinct([longer, short, other]) == [short, other]
    rereads_nothing = CascadeResult(0.0, (0.8,), 0.97, 0.25, 0.0)
    assert tool._distinct([rereads_nothing, other]) == [other]


@pytest.mark.parametrize('value', ['0', '-1'])
def test_max_batches_below_one_is_an_argument_error(load_tool, capsys, value):
    tool = load_tool('calibrate_reread')
    args = ['dld.py', 'dld.pth', '--max-batches', value]
    with pytest.raises(SystemExit) as info:
        tool.parse_args(args)
    assert info.value.code == 2
    assert f'--max-batches must be at least 1, got {value}' in capsys.readouterr().err


@pytest.mark.parametrize('given', ['dld.pth', 'dld.py', 'old.onnx'])
def test_json_naming_the_checkpoint_the_config_or_another_file_is_refused_first(
        tmp_path, capsys, load_tool, given):
    """--json dld.pth replaced the checkpoint with the calibration's JSON."""
    for name in ('dld.pth', 'dld.py', 'old.onnx'):
        (tmp_path / name).write_text(name)
    args = [str(tmp_path / 'dld.py'), str(tmp_path / 'dld.pth'), '--json', str(tmp_path / given)]
    assert load_tool('calibrate_reread').main(args) == 2
    assert f'--json {tmp_path / given} is ' in capsys.readouterr().err
    assert all((tmp_path / n).read_text() == n for n in ('dld.pth', 'dld.py', 'old.onnx'))
