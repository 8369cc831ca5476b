"""tools/test.py: evaluates a checkpoint and writes the metrics JSON."""
import json
from collections import defaultdict

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from dld.engine.checkpoint import CheckpointGlobalError
from dld.evaluation.metrics import plate_scores, vote_track


class NotAllowed:
    """Stands for any class a checkpoint should not make us import."""


@pytest.fixture(scope='module')
def trained(tiny_teacher_config, train_tool, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('trained')
    train_tool.main([tiny_teacher_config, '--work-dir', str(work_dir), '--cfg-options',
                     'train_cfg.max_epochs=1', 'experiment_name=trained-for-test'])
    return work_dir / 'epoch_1.pth'


@pytest.mark.slow
def test_writes_the_metrics_it_computed(tiny_teacher_config, test_tool, trained, run_name,
                                        tmp_path):
    out = tmp_path / 'sub' / 'metrics.json'
    metrics = test_tool.main([tiny_teacher_config, str(trained), '--work-dir', str(tmp_path),
                              '--out', str(out), '--cfg-options',
                              f'experiment_name={run_name()}'])
    written = json.loads(out.read_text())
    assert written == metrics
    # The tiny test split: 2 tracks x 2 frames.
    assert written['plate/num_samples'] == 4
    assert written['track/num_tracks'] == 2
    assert written['track/num_frames'] == 4
    assert written['plate/accuracy'] == written['plate/num_correct'] / 4
    assert written['track/accuracy'] == written['track/num_correct'] / 2

    # The same numbers, recomputed here from the model's own predictions.
    cfg = Config.fromfile(tiny_teacher_config)
    cfg.work_dir = str(tmp_path / 'recompute')
    cfg.experiment_name = run_name()
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(str(trained))
    pairs, tracks, track_gt = [], defaultdict(list), {}
    runner.model.eval()
    with torch.no_grad():
        for batch in runner.build_dataloader(cfg.test_dataloader):
            for s in runner.model.test_step(batch):
                pairs.append((s.gt_text, s.pred_text))
                tracks[s.track_id].append((s.frame_idx, s.pred_text, s.pred_score))
                track_gt[s.track_id] = s.gt_text
    expected = plate_scores(pairs)
    for key in ('accuracy', 'char_accuracy', 'one_minus_ned', 'num_samples', 'num_correct'):
        assert written[f'plate/{key}'] == pytest.approx(expected[key]), key
    voted_right = sum(vote_track(frames) == track_gt[t] for t, frames in tracks.items())
    assert written['track/num_correct'] == voted_right


@pytest.mark.slow
def test_refuses_a_checkpoint_with_a_foreign_global(tiny_teacher_config, test_tool, trained,
                                                    run_name, tmp_path):
    ckpt = torch.load(trained, map_location='cpu', weights_only=True)
    ckpt['meta']['extra'] = NotAllowed()
    bad = tmp_path / 'bad.pth'
    torch.save(ckpt, bad)
    with pytest.raises(CheckpointGlobalError, match='NotAllowed') as info:
        test_tool.main([tiny_teacher_config, str(bad), '--work-dir', str(tmp_path),
                        '--cfg-options', f'experiment_name={run_name()}'])
    assert str(bad) in str(info.value)


def test_missing_checkpoint_fails_before_building_anything(tiny_teacher_config, test_tool,
                                                           tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        test_tool.main([tiny_teacher_config, str(tmp_path / 'nope.pth')])


@pytest.mark.slow
def test_amp_evaluates_under_autocast_where_it_is_faster(tiny_teacher_config, test_tool, trained,
                                                         run_name, tmp_path, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU path')
    monkeypatch.setattr(test_tool, 'resolve_amp', lambda device_type, enabled: torch.bfloat16)
    seen = set()
    conv_forward = torch.nn.Conv2d.forward

    def recording_forward(self, x):
        out = conv_forward(self, x)
        seen.add(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Conv2d, 'forward', recording_forward)
    metrics = test_tool.main([tiny_teacher_config, str(trained), '--work-dir', str(tmp_path),
                              '--amp', '--cfg-options', f'experiment_name={run_name()}'])
    assert seen == {torch.bfloat16}
    assert metrics['plate/num_samples'] == 4


def test_amp_is_left_out_where_float32_is_faster(tiny_teacher_config, test_tool, tmp_path,
                                                 monkeypatch):
    monkeypatch.setattr(test_tool, 'resolve_amp', lambda device_type, enabled: None)
    ckpt = tmp_path / 'any.pth'
    ckpt.write_bytes(b'')
    cfg = test_tool.build_config(test_tool.parse_args([tiny_teacher_config, str(ckpt), '--amp']))
    assert not cfg.test_cfg.get('fp16', False)
    monkeypatch.setattr(test_tool, 'resolve_amp', lambda device_type, enabled: torch.bfloat16)
    cfg = test_tool.build_config(test_tool.parse_args([tiny_teacher_config, str(ckpt), '--amp']))
    assert cfg.test_cfg.fp16 is True and cfg.test_cfg.type == 'TestLoop'
