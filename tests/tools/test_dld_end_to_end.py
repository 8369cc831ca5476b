"""configs/dld_plate.py end to end on a tiny generated set: train, resume,
extract the student, read plates with it."""
import os.path as osp

import pytest
from repo_scripts import load_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY_DLD = '''
model = dict(teacher_ckpt={teacher!r}, teacher=_tiny, student=_tiny, scale_strategy='sampled')
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [dict(type='OneCycleLR', eta_max=1e-3, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
'''


@pytest.mark.slow
def test_dld_trains_resumes_and_its_extracted_student_reads_plates(
        tiny_dld_config, train_tool, run_name, tmp_path):
    import torch

    import dld.engine  # noqa: F401
    from dld.apis import PlateRecognizer

    config = tiny_dld_config(TINY_DLD)
    work = tmp_path / 'dld'
    train_tool.main([config, '--work-dir', str(work), '--cfg-options',
                     f'experiment_name={run_name()}', 'train_cfg.max_epochs=2'])
    assert osp.isfile(work / 'epoch_2.pth') and not osp.exists(work / 'epoch_3.pth')
    train_tool.main([config, '--work-dir', str(work), '--resume', '--cfg-options',
                     f'experiment_name={run_name()}'])
    ckpt = torch.load(work / 'epoch_3.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 3
    assert any(k.startswith('teacher.') for k in ckpt['state_dict'])
    assert any(k.startswith('selector.') for k in ckpt['state_dict'])

    tool = load_script('tools/extract_student.py')
    student = tmp_path / 'student.pth'
    assert tool.main([str(work / 'epoch_3.pth'), str(student)]) == 0
    state = torch.load(student, map_location='cpu', weights_only=True)['state_dict']
    assert not any(k.startswith('teacher.') for k in state)

    recognizer = PlateRecognizer(config, str(student), device='cpu')
    images = sorted((tmp_path / 'data').rglob('lr-*.png'))[:3]
    assert images
    out = recognizer([str(p) for p in images])
    assert len(out['predictions']) == 3
    for rec in out['predictions']:
        assert 'error' not in rec or rec['error'] is None
        assert rec['scale'] in (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)
        assert 0 < rec['gflops'] < rec['gflops_teacher'] * 1.1

    # tools/test.py reports what the readings cost beside their accuracy,
    # as the recognizer reads the same test images.
    earlier = tmp_path / 'metrics.json'
    earlier.write_text('{"plate/accuracy": 0.5}\n')  # an earlier run's: replaced, and said
    from unittest import mock
    test_tool = load_script('tools/test.py')
    with mock.patch.object(test_tool, 'print_log', wraps=test_tool.print_log) as said:
        metrics = test_tool.main(
            [config, str(student), '--work-dir', str(tmp_path / 'test'), '--out', str(earlier),
             '--cfg-options', f'experiment_name={run_name()}'])
    import json
    assert json.loads(earlier.read_text())['cost/num_images'] == metrics['cost/num_images']
    assert mock.call(f'Metrics written to {earlier} (the file there replaced)',
                     logger='current') in said.call_args_list
    reads = recognizer(str(tmp_path / 'data' / 'test.txt'))['predictions']
    assert metrics['cost/num_images'] == metrics['plate/num_samples'] == len(reads)
    assert metrics['cost/gflops'] == pytest.approx(
        sum(r['gflops'] for r in reads) / len(reads), rel=1e-6)
    shares = {k: v for k, v in metrics.items() if k.startswith('cost/share_')}
    assert shares and sum(shares.values()) == pytest.approx(1.0)
    for rec in reads:
        assert f"cost/share_{rec['scale']:g}" in shares
