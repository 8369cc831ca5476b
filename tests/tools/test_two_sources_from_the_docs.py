"""The two-source config of docs/datasets.md ("Several sets at once"):
built as the page gives it, each source read, and each set's accuracy."""
import os.path as osp
import re

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from dld.datasets import ConcatDataset, RepeatDataset
from dld.datasets.synth import generate_synth_plates
from dld.registry import DATASETS, METRICS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def doc_config() -> str:
    text = open(osp.join(REPO, 'docs', 'datasets.md'), encoding='utf-8').read()
    [block] = re.findall(r'```python\n(# my_configs/dld_two_sources\.py\n.*?)```', text, re.S)
    return block.replace("'../configs/", repr(osp.join(REPO, 'configs')).rstrip("'") + '/')


def test_the_documented_two_source_config_reads_each_source_and_scores_each(tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, tracks in (('day', 4), ('night', 2)):
        generate_synth_plates(f'data/{name}', seed=len(name), tracks=tracks, val_tracks=2,
                              test_tracks=1, frames=2, progress=False)
    # the night source as track folders, listed by split (tools/split_tracks.py's lists)
    (tmp_path / 'data/night/splits').mkdir()
    for split, n in (('train', 2), ('val', 2)):
        (tmp_path / f'data/night/splits/{split}.txt').write_text(
            ''.join(f'{split}/track_{i:05d}\n' for i in range(n)))
    (tmp_path / 'my_configs').mkdir()
    (tmp_path / 'my_configs/dld_two_sources.py').write_text(doc_config())
    cfg = Config.fromfile('my_configs/dld_two_sources.py')
    init_default_scope('dld')
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert isinstance(train, ConcatDataset)
    assert isinstance(train.datasets[1], RepeatDataset)
    assert len(train) == (4 + 3 * 2) * 2  # every frame an item, night's three times
    val = DATASETS.build(cfg.val_dataloader.dataset)
    # every frame of every track, as the shipped validation sets: the default
    # frames='random' read one a track, the track accuracy that frame's
    assert len(val) == (2 + 2) * 2
    samples = pseudo_collate([val[i] for i in range(len(val))])['data_samples']
    assert {s.set_name for s in samples} == {'day', 'night'}
    for s in samples:  # day read right, night wrong
        s.pred_text, s.pred_score = (s.gt_text if s.set_name == 'day' else ''), 0.9
    results = {}
    for metric_cfg in cfg.val_evaluator[:2]:
        metric = METRICS.build(metric_cfg)
        metric.process({}, [s.to_dict() for s in samples])
        results.update(metric.evaluate(len(samples)))
    assert results['plate/accuracy/day'] == results['track/accuracy/day'] == 1.0
    assert results['plate/accuracy/night'] == results['track/accuracy/night'] == 0.0
