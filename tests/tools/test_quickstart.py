"""tools/quickstart.py, the README's main command, end to end on a tiny set:
each step runs, the outputs it names exist, and its summary counts what the
inference step wrote."""
import json
import os.path as osp
import re

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# A quickstart config shrunk: 4 train tracks x 2 frames, a model a few hundred
# kB big, one epoch that ends with validation (so best.pth exists).
TINY = '''
_base_ = [{base!r}]
data = {data!r}
synth_plates = dict(data_root=data, tracks=4, val_tracks=2, test_tracks=2, frames=2, seed=0)
_small = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_dataloader = dict(**_small, dataset=dict(data_root=data))
val_dataloader = dict(**_small, dataset=dict(data_root=data))
test_dataloader = dict(**_small, dataset=dict(data_root=data))
_tiny = dict(
    backbone=dict(widths=(8, 16, 16, 32)),
    encoder=dict(d_model=32, num_layers=1, num_heads=2),
    decoder=dict(d_model=32, num_layers=1, num_heads=2))
model = {model}
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
log_level = 'WARNING'
'''


def _tiny_config(path, base: str, data: str, model: str) -> str:
    path.write_text(TINY.format(base=osp.join(REPO, base), data=data, model=model))
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize('setting,stream', [('efficiency', 'hr'), ('lr', 'lr')])
def test_quickstart_runs_every_step_and_reports_what_it_read(load_tool, tmp_path, capsys,
                                                              setting, stream):
    quickstart = load_tool('quickstart')
    data = str(tmp_path / 'data')
    teacher = _tiny_config(tmp_path / 'teacher.py', 'configs/quickstart/teacher.py', data,
                           'dict(_tiny)')
    dld = _tiny_config(tmp_path / 'dld.py', quickstart.DLD_CONFIGS[setting], data,
                       'dict(teacher=_tiny, student=_tiny)')
    work = tmp_path / 'work'
    assert quickstart.main(['--work-dir', str(work), '--teacher-config', teacher,
                            '--config', dld, '--tracks', '2']) == 0
    out = capsys.readouterr().out

    assert osp.isfile(work / 'teacher' / 'best.pth') and osp.isfile(work / 'student.pth')
    report = json.loads((work / 'report' / 'report.json').read_text())
    assert report and osp.isfile(work / 'report' / 'pareto.png')
    sample = (work / 'sample.txt').read_text().splitlines()
    assert len(sample) == 2 and all(osp.isabs(line.split(',')[0]) for line in sample)

    frames = [json.loads(line) for line in (work / 'predictions.jsonl').read_text().splitlines()]
    assert len(frames) == 4  # 2 tracks x 2 frames
    assert all(r['error'] is None and f'/{stream}-' in r['path'] for r in frames)
    tracks = [json.loads(line)
              for line in (work / 'predictions.tracks.jsonl').read_text().splitlines()]
    assert len(tracks) == 2
    right = sum(r['text'] == r['gt_text'] for r in frames)
    voted = sum(t['text'] == t['gt_text'] for t in tracks)
    summary = re.search(r'(\d+)/4 sample frames read right \(scales chosen: (.*)\); '
                        r'(\d+)/2 tracks', out)
    assert summary, out
    assert int(summary.group(1)) == right and int(summary.group(3)) == voted
    chosen = {float(part.split('x ')[0]): int(part.split('x ')[1])
              for part in summary.group(2).split(', ')}
    assert sum(chosen.values()) == 4
    assert chosen == {s: sum(r['scale'] == s for r in frames) for s in chosen}
    for name in ('teacher/best.pth', 'student.pth', 'report/report.md', 'predictions.jsonl'):
        assert str(work / name) in out
