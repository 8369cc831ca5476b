"""Before and after fine-tuning on a third camera, per camera: real tiny
reports of a concatenation of three sets (group_by='set') paired image by
image within each set, so that a gain on the new camera cannot hide a loss
on the replayed ones."""
import json
import re

import pytest
import torch
from mmengine.config import Config
from repo_scripts import load_script

from dld.apis.flops_accuracy import FlopsAccuracyEvaluator
from dld.apis.report_comparison import compare_reports, markdown_comparison
from dld.apis.report_writing import write_report
from dld.datasets.synth import generate_synth_plates

CAMERAS = {'camA': ('brazilian', 1), 'camB': ('mercosur', 2), 'camC': ('LLL-NNNN', 3)}


@pytest.fixture(scope='module')
def reports(tiny_run, tmp_path_factory):
    root = tmp_path_factory.mktemp('cameras')
    for name, (layout, seed) in CAMERAS.items():
        generate_synth_plates(str(root / name), seed=seed, tracks=1, val_tracks=1,
                              test_tracks=4, frames=2, layouts=(layout, ), progress=False)
    cfg = Config.fromfile(tiny_run['config'])
    test = cfg.test_dataloader.dataset
    cfg.test_dataloader.dataset = dict(type='ConcatDataset', datasets=[
        dict(test, data_root=str(root / name), track_prefix=f'{name}/') for name in CAMERAS])
    cfg.test_evaluator = [dict(type='PlateRecogMetric', group_by='set'),
                          dict(type='TrackAccuracyMetric', group_by='set')]
    config = root / 'three_cameras.py'
    cfg.dump(str(config))
    state = torch.load(tiny_run['student'], map_location='cpu', weights_only=True)['state_dict']
    gen = torch.Generator().manual_seed(0)
    moved = {k: v + 0.15 * v.abs().mean() * torch.randn(v.shape, generator=gen)
             if v.is_floating_point() and k.startswith('student.') else v
             for k, v in state.items()}
    after = root / 'after.pth'
    torch.save(dict(state_dict=moved, meta={}), after)
    folders = {}
    for run, ckpt in (('before', tiny_run['student']), ('after', str(after))):
        rep = FlopsAccuracyEvaluator(str(config), ckpt, scales=[1.0, 0.4],
                                     device='cpu').evaluate()
        folders[run] = str(root / run)
        write_report(rep, folders[run])
    return folders


def test_each_image_s_camera_is_kept_and_each_camera_is_paired_on_its_own(reports, capsys):
    with open(f"{reports['after']}/report.json") as f:
        report = json.load(f)
    assert report['per_image']['group_by'] == 'set'
    assert report['per_image']['groups'] == [[name, 8] for name in CAMERAS]
    c = compare_reports(list(reports.values()), list(reports))
    whole = {p['method']: p for p in c['paired']}
    rows = [p for p in c['paired_by_test_group'] if p['method'] == 'dld_selector']
    assert [p['test_group'] for p in rows] == list(CAMERAS)
    assert all(p['images'] == 8 and p['groups'] == 4 for p in rows)
    # each camera's accuracies are the report's own per set, and add up to the whole
    methods = {r['method']: r for r in report['methods']}
    for p in rows:
        assert p['a'] == pytest.approx(methods['dld_selector']['metrics'][
            f"plate/accuracy/{p['test_group']}"])
    assert sum(p['difference'] for p in rows) / 3 == pytest.approx(
        whole['dld_selector']['difference'])
    assert any(p['difference'] != 0 for p in rows)  # else the pairing compares alike reports
    text = markdown_comparison(c)
    assert '## Paired by image, each group of the test set, against before' in text
    assert re.search(r'\| after +\| dld_selector +\| camA +\|', text)
    assert load_script('tools/analysis/compare_reports.py').main(
        [reports['before'], reports['after']]) == 0
    assert 'each group of the test set' in capsys.readouterr().out


def test_a_report_without_groups_is_paired_as_a_whole_only(tiny_run, tmp_path):
    rep = FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'], scales=[1.0],
                                 device='cpu').evaluate()
    assert 'groups' not in rep['per_image']
    c = compare_reports([rep, rep], ['a', 'b'])
    assert c['paired'] and c['paired_by_test_group'] == []
    assert 'each group of the test set' not in markdown_comparison(c)
