"""Tiny DLD models and datasets, made in the test, for the inference and report tests.

``make_tiny_run(root)`` generates a small synthetic plate set, trains a tiny
CTC teacher on HR and then a tiny DLD student + selector from it for a fixed
number of steps (15 s on an idle 2-core machine), and writes:

* ``root/dld.py``: the DLD config (test set = the synthetic test split);
* ``root/student.pth``: the DLD checkpoint with its ``teacher.*`` weights
  removed (what inference ships);
* ``root/dld_full.pth``: the full DLD checkpoint;
* ``root/teacher.pth``, ``root/baseline.pth``: plain recognizer checkpoints
  (the baseline is a no-KD student trained on LR alone);
* ``root/baseline.py``: the baseline's config.

The result is cached in ``root``: other test modules of the session reuse it.
"""
import json
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

BASE = (48, 144)
SCALES = (1.0, 0.6, 0.4)


def recognizer_cfg(width: int = 16) -> dict:
    return dict(
        type='TextRecognizer',
        backbone=dict(type='ResNetPlate', widths=(width, width, 2 * width, 2 * width)),
        encoder=dict(type='BiLSTMEncoder', hidden_size=width * 2, num_layers=1, dropout=0.0),
        decoder=dict(type='CTCDecoder', beam_width=4),
        data_preprocessor=dict(type='PlateDataPreprocessor'))


def pipeline(main_stream: str = 'lr', with_hr=None) -> list:
    return [
        dict(type='LoadPlateImages', with_hr=with_hr),
        dict(type='ResizePair', lr_size=BASE, hr_size=BASE),
        dict(type='PackPlateInputs', main_stream=main_stream),
    ]


def loader(data_root: str, split: str, pipe: list, train: bool = False, **ds) -> dict:
    return dict(
        batch_size=16, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=train),
        collate_fn=dict(type='pseudo_collate'),
        dataset=dict(type='PairedPlateDataset', data_root=data_root, ann_file=f'{split}.txt',
                     frames='random' if train else 'all', test_mode=not train, pipeline=pipe,
                     **ds))


def dld_config(data_root: str, teacher_ckpt=None) -> dict:
    return dict(
        default_scope='dld',
        model=dict(
            type='DLDDistiller', teacher=recognizer_cfg(16), student=recognizer_cfg(12),
            teacher_ckpt=teacher_ckpt, scales=SCALES, base_size=BASE,
            selector=dict(type='ResolutionSelector', channels=(4, 8)),
            init_student_from_teacher=False,
            losses=dict(skd=dict(type='SequenceKDLoss'),
                        selector=dict(type='ResolutionSelectorLoss', gamma=0.1)),
            data_preprocessor=dict(type='PlateDataPreprocessor')),
        test_dataloader=loader(data_root, 'test', pipeline()),
        test_evaluator=[dict(type='PlateRecogMetric'), dict(type='TrackAccuracyMetric')],
    )


def baseline_config(data_root: str) -> dict:
    return dict(default_scope='dld', model=recognizer_cfg(12),
                test_dataloader=loader(data_root, 'test', pipeline()),
                test_evaluator=[dict(type='PlateRecogMetric')])


def _batches(data_root: str, pipe: list, split: str = 'train'):
    from mmengine.runner import Runner
    cfg = loader(data_root, split, pipe, train=True)
    dl = Runner.build_dataloader(cfg, seed=0)
    while True:
        yield from dl


def _train(model, batches, steps: int, lr: float = 3e-3) -> None:
    """A fixed number of steps, never a time budget: a run cut short on a
    busy machine would give the tests another model (a selector that sends
    every image to 1.0x, for one)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    model.train()
    for _ in range(steps):
        data = model.data_preprocessor(next(batches), True)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def _save(state: dict, path: str) -> None:
    torch.save(dict(state_dict=state, meta=dict(note='tiny test model')), path)


def make_tiny_run(root: str, tracks: int = 40, steps: int = 60) -> dict:
    """Make (or reuse) the tiny run in ``root``; returns its paths."""
    paths = dict(root=root, data=osp.join(root, 'data'), config=osp.join(root, 'dld.py'),
                 student=osp.join(root, 'student.pth'), full=osp.join(root, 'dld_full.pth'),
                 teacher=osp.join(root, 'teacher.pth'), baseline=osp.join(root, 'baseline.pth'),
                 baseline_config=osp.join(root, 'baseline.py'))
    done = osp.join(root, 'done.json')
    if osp.isfile(done):
        return paths
    os.makedirs(root, exist_ok=True)
    torch.manual_seed(0)
    init_default_scope('dld')
    import dld.engine  # noqa: F401 - installs the weights-only checkpoint loader
    from dld.datasets import ensure_synth_plates
    from dld.registry import MODELS
    ensure_synth_plates(paths['data'], tracks=tracks, val_tracks=2, test_tracks=6, frames=2,
                        seed=0)

    teacher = MODELS.build(recognizer_cfg(16))
    _train(teacher, _batches(paths['data'], pipeline('hr', with_hr=True)), steps)
    _save(teacher.state_dict(), paths['teacher'])

    baseline = MODELS.build(recognizer_cfg(12))
    _train(baseline, _batches(paths['data'], pipeline()), steps)
    _save(baseline.state_dict(), paths['baseline'])

    dld = MODELS.build(dld_config(paths['data'], teacher_ckpt=paths['teacher'])['model'])
    _train(dld, _batches(paths['data'], pipeline(with_hr=True)), steps // 2)
    state = dld.state_dict()
    _save(state, paths['full'])
    _save({k: v for k, v in state.items() if not k.startswith('teacher.')}, paths['student'])

    Config(dld_config(paths['data'])).dump(paths['config'])
    Config(baseline_config(paths['data'])).dump(paths['baseline_config'])
    with open(done, 'w') as f:
        json.dump(paths, f)
    return paths


def collate(items: list) -> dict:
    return pseudo_collate(items)
