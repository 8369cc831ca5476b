"""projects/mobile_student end to end: the tools train its config (the
project's modules come in through custom_imports, found from the directory
the tools run in), and read plates with the trained student."""
import json
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT_CONFIG = 'projects/mobile_student/configs/dld_efficiency_mobile_quick.py'

# The project's student shrunk like the tiny teacher (`_tiny`), one epoch.
TINY_MOBILE = '''
model = dict(teacher_ckpt={teacher!r}, teacher=_tiny,
             student=dict(backbone=dict(widths=(8, 16, 16, 32)), encoder=dict(d_model=32),
                          decoder=dict(d_model=32)))
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [dict(type='OneCycleLR', eta_max=1e-3, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
'''


@pytest.mark.slow
def test_the_tools_train_the_project_config_and_read_plates_with_it(
        tiny_dld_config, train_tool, load_tool, run_name, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    config = tiny_dld_config(TINY_MOBILE, base=PROJECT_CONFIG)
    work = tmp_path / 'mobile'
    train_tool.main([config, '--work-dir', str(work), '--cfg-options',
                     f'experiment_name={run_name()}'])
    ckpt = work / 'epoch_1.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert any(k.startswith('student.backbone.blocks.') for k in state)
    assert not any(k.startswith('student.backbone.stages.') for k in state)
    assert state['connectors.backbone.proj.0.weight'].shape[:2] == (32, 32)

    images = sorted(str(p) for p in (tmp_path / 'data').rglob('*.png'))[:4]
    assert len(images) == 4
    out = tmp_path / 'plates.jsonl'
    rc = load_tool('infer').main([config, str(ckpt), *images, '--out', str(out),
                                  '--no-progress', '--device', 'cpu'])
    assert rc == 0
    with open(out) as f:
        records = [json.loads(line) for line in f]
    assert len(records) == 4
    for record in records:
        assert record['error'] is None
        assert record['scale'] in (1.0, 0.8, 0.6)
        assert record['gflops'] > 0  # (the tiny teacher is cheaper than this student)
