"""An int8 export against its float one, image by image: the ONNX reader's
records, labelled by infer.py's readings of the label file, compared by
tools/analysis/analyze_readings.py (docs/deployment.md, "Is int8 as good?")."""
import json
import os.path as osp
import sys

import pytest
from repo_scripts import load_script

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')
HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from tiny_dld import make_tiny_run  # noqa: E402

pytestmark = pytest.mark.slow


def _read(export, images, out, capsys, *extra):
    from dld.deploy.onnx_reader import main
    capsys.readouterr()
    assert main([str(export), *images, '--json', *extra]) == 0
    out.write_text(capsys.readouterr().out)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_int8_and_float_readings_are_compared_image_by_image(tmp_path_factory, tmp_path,
                                                             capsys):
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    export = load_script('tools/deployment/export_onnx.py').main
    for name, extra in (('fp32', []), ('int8', ['--int8', '--calib-count', '16'])):
        assert export([run['config'], run['student'], '--out-dir', str(tmp_path / name),
                       '--no-check', *extra]) == 0
    labelled = tmp_path / 'torch.jsonl'
    assert load_script('tools/infer.py').main([
        run['config'], run['student'], osp.join(run['data'], 'test.txt'), '--out',
        str(labelled), '--no-progress', '--device', 'cpu']) == 0
    test = [osp.join(run['data'], 'test')]  # the track folders: their LR frames
    fp32 = _read(tmp_path / 'fp32', test, tmp_path / 'fp32.jsonl', capsys)
    int8 = _read(tmp_path / 'int8', test, tmp_path / 'int8.jsonl', capsys)
    _read(tmp_path / 'fp32', test, tmp_path / 'forced.jsonl', capsys, '--scale', '0.4')
    tool = load_script('tools/analysis/analyze_readings.py').main

    # unlabelled against labelled: refused, saying what to give
    assert tool([str(tmp_path / 'fp32.jsonl'), str(labelled)]) == 2
    err = capsys.readouterr().err
    assert 'fp32.jsonl holds no labels' in err and '--labels LABELLED.jsonl' in err

    # the float export reads as PyTorch: no text, scale or choice differs
    assert tool([str(tmp_path / 'fp32.jsonl'), str(labelled), '--labels', str(labelled),
                 '--json', str(tmp_path / 'same.json')]) == 0
    same = json.loads((tmp_path / 'same.json').read_text())['comparison']['agreement']
    assert (same['texts_differ'], same['scales_differ'], same['choices_differ']) == (0, 0, 0)
    assert same['chosen'] == same['read'] == len(fp32)

    # int8 against float, labelled by infer.py's readings, paired by path
    capsys.readouterr()
    assert tool([str(tmp_path / 'int8.jsonl'), str(tmp_path / 'fp32.jsonl'), '--labels',
                 str(labelled), '--json', str(tmp_path / 'int8.json')]) == 0
    printed = capsys.readouterr().out
    found = json.loads((tmp_path / 'int8.json').read_text())
    cmp, ag = found['comparison'], found['comparison']['agreement']
    texts = sum(a['text'] != b['text'] for a, b in zip(int8, fp32))
    scales = sum(a['scale'] != b['scale'] for a, b in zip(int8, fp32))
    assert (ag['texts_differ'], ag['scales_differ']) == (texts, scales)
    assert f'| texts differ              | {texts} of {len(fp32)}' in printed
    truth = [json.loads(line) for line in labelled.read_text().splitlines()]
    assert cmp['labelled'] == len(truth)
    assert cmp['accuracy_b'] == pytest.approx(sum(r['read_right'] for r in truth) / len(truth))
    assert cmp['by_track'] is not None and 'bootstrap over the 6 tracks' in printed
    summary = found['files'][str(tmp_path / 'int8.jsonl')]['summary']
    assert summary['accuracy_low'] <= summary['accuracy'] <= summary['accuracy_high']
    assert '95 % interval' in printed

    # the selector's choices compared: a forced scale has none, and reads elsewhere
    assert tool([str(tmp_path / 'forced.jsonl'), str(tmp_path / 'fp32.jsonl'), '--labels',
                 str(labelled), '--json', str(tmp_path / 'forced.json')]) == 0
    ag = json.loads((tmp_path / 'forced.json').read_text())['comparison']['agreement']
    assert ag['chosen'] == 0 and ag['scales_differ'] == sum(r['scale'] != 0.4 for r in fp32) > 0
