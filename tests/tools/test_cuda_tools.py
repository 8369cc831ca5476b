"""The tools on a GPU (skipped without CUDA; run where one is lent):
``--amp`` trains in float16 under a dynamic loss scale and evaluates in
float16, while the checkpoint stays float32; a DLD run and its inference
run on the device."""
import pytest
import torch

import dld.engine  # noqa: F401  (allow-list for torch.load below)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')

TINY_DLD = '''
model = dict(teacher_ckpt={teacher!r}, teacher=_tiny, student=_tiny, scale_strategy='sampled')
train_cfg = dict(max_epochs=1)
'''


def _floats(path):
    state = torch.load(path, map_location='cpu', weights_only=True)['state_dict']
    return [v for v in state.values() if v.is_floating_point()]


def test_amp_trains_and_evaluates_in_float16_on_the_gpu(tiny_teacher_config, train_tool,
                                                        test_tool, run_name, tmp_path,
                                                        monkeypatch):
    seen = set()
    conv_forward = torch.nn.Conv2d.forward

    def recording_forward(self, x):
        out = conv_forward(self, x)
        seen.add((out.device.type, out.dtype, self.training))
        return out

    monkeypatch.setattr(torch.nn.Conv2d, 'forward', recording_forward)
    train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path), '--amp',
                     '--cfg-options', f'experiment_name={run_name()}',
                     'train_cfg.max_epochs=1'])
    assert seen == {('cuda', torch.float16, True), ('cuda', torch.float16, False)}
    floats = _floats(tmp_path / 'epoch_1.pth')
    assert floats and all(v.dtype == torch.float32 and torch.isfinite(v).all()
                          for v in floats)
    seen.clear()
    metrics = test_tool.main([tiny_teacher_config, str(tmp_path / 'epoch_1.pth'),
                              '--work-dir', str(tmp_path / 'test'), '--amp',
                              '--cfg-options', f'experiment_name={run_name()}'])
    assert seen == {('cuda', torch.float16, False)}
    assert metrics['plate/num_samples'] == 4


def test_dld_trains_and_reads_plates_on_the_gpu(tiny_dld_config, train_tool, run_name,
                                               tmp_path):
    from dld.apis import PlateRecognizer

    config = tiny_dld_config(TINY_DLD)
    work = tmp_path / 'dld'
    train_tool.main([config, '--work-dir', str(work), '--amp', '--cfg-options',
                     f'experiment_name={run_name()}'])
    assert all(torch.isfinite(v).all() for v in _floats(work / 'epoch_1.pth'))

    recognizer = PlateRecognizer(config, str(work / 'epoch_1.pth'), device='cuda')
    assert next(recognizer.model.parameters()).device.type == 'cuda'
    images = sorted((tmp_path / 'data').rglob('lr-*.png'))[:5]
    out = recognizer([str(p) for p in images])
    assert len(out['predictions']) == 5
    for rec in out['predictions']:
        assert rec.get('error') is None
        assert rec['scale'] in (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)
