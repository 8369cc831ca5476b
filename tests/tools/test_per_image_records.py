"""tools/flops_accuracy.py --per-image: one infer.py record per test image,
with each fixed scale's reading and the oracle's scale, whose figures agree
with the report's, with infer.py's records and with analyze_readings.py."""
import json
import os.path as osp
import sys

import pytest
from repo_scripts import load_script

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'apis'))
from tiny_dld import SCALES, make_tiny_run  # noqa: E402


@pytest.fixture(scope='module')
def made(tmp_path_factory):
    """A tiny run's report and per-image records, written by the tool."""
    run = make_tiny_run(str(tmp_path_factory.getbasetemp() / 'tiny_dld_run'))
    out = tmp_path_factory.mktemp('per_image')
    per_image = out / 'images.jsonl'
    rc = load_script('tools/flops_accuracy.py').main(
        [run['config'], run['student'], '--out', str(out / 'report'), '--device', 'cpu',
         '--per-image', str(per_image)])
    assert rc == 0
    report = json.loads((out / 'report' / 'report.json').read_text())
    records = [json.loads(line) for line in per_image.read_text().splitlines()]
    return run, report, records, str(per_image)


def test_records_agree_with_the_report(made):
    _, report, records, _ = made
    rows = {r['method']: r for r in report['methods']}
    n = report['num_images']
    assert len(records) == n
    sel = rows['dld_selector']
    assert sum(r['read_right'] for r in records) / n == pytest.approx(sel['accuracy'])
    assert sum(r['gflops'] for r in records) / n == pytest.approx(sel['gflops'])
    for s in SCALES:  # each fixed scale's reading is its row's
        assert sum(r['by_scale'][f'{s:g}']['read_right'] for r in records) / n == \
            pytest.approx(rows[f'dld@{s:g}']['accuracy'])
    hist = report['scale_histogram']
    for method, key in (('dld_selector', 'scale'), ('oracle', 'oracle_scale')):
        assert {f'{s:g}': sum(r[key] == s for r in records) for s in SCALES} == hist[method]
    ch = report['selector_choices']
    assert {c: sum(r['choice'] == c for r in records)
            for c in ('matched', 'too_dear', 'too_cheap')} == \
        {c: ch[c] for c in ('matched', 'too_dear', 'too_cheap')}
    for r in records:  # the selector chose its likeliest scale; the oracle its cheapest right
        assert max(r['scale_probs'], key=r['scale_probs'].get) == f"{r['scale']:g}"
        right = [s for s in sorted(SCALES) if r['by_scale'][f'{s:g}']['read_right']]
        assert r['oracle_scale'] == (right[0] if right else min(SCALES))
        assert r['read_right'] == r['by_scale'][f"{r['scale']:g}"]['read_right']
        assert r['text'] == r['by_scale'][f"{r['scale']:g}"]['text']


def test_records_are_infer_records_of_the_same_images(made):
    run, _, records, _ = made
    from dld.apis import PlateRecognizer
    infer = PlateRecognizer(run['config'], run['student'], device='cpu')(
        osp.join(run['data'], 'test.txt'))['predictions']
    assert [r['path'] for r in records] == [r['path'] for r in infer]
    for ours, theirs in zip(records, infer):
        for key in ('input', 'text', 'scale', 'scales_read', 'input_size', 'image_size',
                    'track_id', 'frame_idx', 'gt_text', 'read_right', 'case_sensitive',
                    'error'):
            assert ours[key] == theirs[key], key
        for key in ('confidence', 'gflops', 'gflops_teacher'):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-5), key
        assert ours['scale_probs'] == pytest.approx(theirs['scale_probs'], abs=1e-5)


def test_analyze_readings_reads_them_per_chosen_scale(made, capsys):
    _, report, _, path = made
    tool = load_script('tools/analysis/analyze_readings.py')
    js = osp.join(osp.dirname(path), 'analysis.json')
    sheet = osp.join(osp.dirname(path), 'sheet.png')
    assert tool.main([path, '--crop-stats', '--json', js, '--sheet', sheet]) == 0
    out = capsys.readouterr().out
    assert 'median size (HxW)' in out and 'median sharpness' in out
    rows = {f"{r['scale']:g}": r for r in json.loads(open(js).read())['scales']}
    ch = report['selector_choices']['per_scale']
    assert {s: r['count'] for s, r in rows.items()} == {s: c['images'] for s, c in ch.items()}
    for s, r in rows.items():
        assert r['accuracy'] == pytest.approx(ch[s]['accuracy'])
        assert r['median_height'] > 0 and r['median_width'] > 0
        assert r['median_sharpness'] > 0 and 0 < r['median_brightness'] < 255
    # a row of crops per chosen scale, framed green where read right, red where not
    import cv2
    import numpy as np
    img = cv2.imread(sheet)
    for colour, kind in ((tool.SHEET_COLOURS['right'], 'right'),
                         (tool.SHEET_COLOURS['wrong'], 'wrong')):
        wanted = sum(r['labelled'] * (r['accuracy'] if kind == 'right' else 1 - r['accuracy'])
                     for r in rows.values())  # 12 images: every one drawn
        assert (np.all(img == colour, axis=-1).any()) == (wanted > 0)


def test_a_per_image_file_that_would_replace_a_checkpoint_is_refused(made, capsys):
    run, _, _, _ = made
    with pytest.raises(SystemExit):
        load_script('tools/flops_accuracy.py').parse_args(
            [run['config'], run['student'], '--out', 'x', '--per-image', run['baseline']])
    assert '--per-image' in capsys.readouterr().err


def test_median_crop_size_per_scale():
    from dld.apis.reading_analysis import accuracy_by_scale
    recs = [dict(scale=1.0, image_size=[10, 30]), dict(scale=1.0, image_size=[14, 40]),
            dict(scale=0.5, image_size=[20, 60]), dict(scale=0.5, image_size=None)]
    for r in recs:
        r.update(error=None, confidence=0.5)
    rows = accuracy_by_scale(recs)
    assert [(r['median_height'], r['median_width']) for r in rows] == [(12, 35), (20, 60)]
    assert rows[0]['median_sharpness'] is None  # no crop_stats: not read
