"""Tiny DLD models and datasets for the inference and report tests.

``make_tiny_run(root)`` generates a small synthetic plate set (6 test tracks
of 2 frames) and writes beside it tiny models that read plates:

* ``root/dld.py``: the DLD config (test set = the synthetic test split);
* ``root/student.pth``: the DLD checkpoint with its ``teacher.*`` weights
  removed (what inference ships);
* ``root/dld_full.pth``: the full DLD checkpoint;
* ``root/teacher.pth``, ``root/baseline.pth``: plain recognizer checkpoints
  (the baseline is a no-KD student trained on LR alone);
* ``root/baseline.py``: the baseline's config.

The weights are trained once, by ``python tests/apis/tiny_dld.py`` (about
15 min on 2 cores, on the train split of the tests' generator), and
shipped in ``tests/fixtures/tiny_run/``. Why not trained in the test: a CTC
model this small reads no plate for its first thousand steps or so, and
tests that compare accuracies of models reading nothing compare 0 with 0.

The result is cached in ``root``: other test modules of the session reuse it.
"""
import json
import os
import os.path as osp
from collections import Counter

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

BASE = (48, 144)
SCALES = (1.0, 0.6, 0.4)
# The shipped models' width: narrower teachers did not learn to read in 3000
# steps. Other tests build untrained models at the defaults (16 and 12).
TRAINED_WIDTH = 32
# Trained at gamma 0.1 the tiny selector sent every test image to 1.0x, at
# 0.3 and 0.5 every one to 0.6x; at 0.2 it chooses both, as tests need.
SELECTOR_GAMMA = 0.2
WEIGHTS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'fixtures', 'tiny_run')
RETRAIN = 'python tests/apis/tiny_dld.py'


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


def dld_config(data_root: str, teacher_ckpt=None, widths=(16, 12), gamma: float = 0.1) -> dict:
    return dict(
        default_scope='dld',
        model=dict(
            type='DLDDistiller', teacher=recognizer_cfg(widths[0]),
            student=recognizer_cfg(widths[1]),
            teacher_ckpt=teacher_ckpt, scales=SCALES, base_size=BASE,
            selector=dict(type='ResolutionSelector', channels=(4, 8)),
            init_student_from_teacher=False,
            losses=dict(skd=dict(type='SequenceKDLoss'),
                        selector=dict(type='ResolutionSelectorLoss', gamma=gamma)),
            data_preprocessor=dict(type='PlateDataPreprocessor')),
        test_dataloader=loader(data_root, 'test', pipeline()),
        test_evaluator=[dict(type='PlateRecogMetric'), dict(type='TrackAccuracyMetric')],
    )


def baseline_config(data_root: str, width: int = 12) -> dict:
    return dict(default_scope='dld', model=recognizer_cfg(width),
                test_dataloader=loader(data_root, 'test', pipeline()),
                test_evaluator=[dict(type='PlateRecogMetric')])


def make_tiny_run(root: str) -> dict:
    """Make (or reuse) the tiny run in ``root``; returns its paths."""
    paths = dict(root=root, data=osp.join(root, 'data'), config=osp.join(root, 'dld.py'),
                 student=osp.join(root, 'student.pth'), full=osp.join(root, 'dld_full.pth'),
                 teacher=osp.join(root, 'teacher.pth'), baseline=osp.join(root, 'baseline.pth'),
                 baseline_config=osp.join(root, 'baseline.py'))
    done = osp.join(root, 'done.json')
    if osp.isfile(done):
        return paths
    os.makedirs(root, exist_ok=True)
    init_default_scope('dld')
    import dld.engine  # noqa: F401 - installs the weights-only checkpoint loader
    from dld.datasets import ensure_synth_plates
    ensure_synth_plates(paths['data'], tracks=40, val_tracks=2, test_tracks=6, frames=2, seed=0)

    configs = _trained_configs(paths['data'])
    teacher = _shipped_state('teacher', configs['teacher'])
    student = _shipped_state('student', configs['full'], teacher=teacher)
    _save(teacher, paths['teacher'])
    _save(_shipped_state('baseline', configs['baseline']), paths['baseline'])
    _save(student, paths['student'])
    _save(dict(student, **_as_teacher(teacher)), paths['full'])
    Config(configs['dld']).dump(paths['config'])
    Config(configs['baseline_config']).dump(paths['baseline_config'])
    with open(done, 'w') as f:
        json.dump(paths, f)
    return paths


def _trained_configs(data_root: str, teacher_ckpt=None) -> dict:
    dld_cfg = dld_config(data_root, teacher_ckpt, widths=(TRAINED_WIDTH, TRAINED_WIDTH),
                         gamma=SELECTOR_GAMMA)
    return dict(teacher=recognizer_cfg(TRAINED_WIDTH), baseline=recognizer_cfg(TRAINED_WIDTH),
                full=dld_cfg['model'], dld=dld_cfg,
                baseline_config=baseline_config(data_root, TRAINED_WIDTH))


def _as_teacher(state: dict) -> dict:
    return {f'teacher.{k}': v for k, v in state.items()}


def _shipped_state(name: str, model_cfg: dict, teacher=None) -> dict:
    """The shipped weights of ``name``, checked to fit its model whole (a
    DLD student's with the ``teacher`` weights it was distilled from: the
    student is shipped without them)."""
    from dld.registry import MODELS
    path = osp.join(WEIGHTS, f'{name}.pth')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: train the tiny models with {RETRAIN}')
    state = torch.load(path, map_location='cpu', weights_only=True)['state_dict']
    try:
        MODELS.build(model_cfg).load_state_dict(dict(state, **_as_teacher(teacher or {})))
    except RuntimeError as err:
        raise RuntimeError(f'{path} no longer fits its model (the model changed?): train the '
                           f'tiny models again with {RETRAIN}\n{err}') from None
    return state


def _save(state: dict, path: str) -> None:
    torch.save(dict(state_dict=state, meta=dict(note='tiny test model')), path)


def collate(items: list) -> dict:
    return pseudo_collate(items)


def evaluate_test_set(config: str, checkpoint: str, **test_cfg) -> dict:
    """What tools/test.py computes: the config's test loader, ``test_step``
    with ``test_cfg`` added to the model's, the config's evaluator."""
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner

    from dld.apis.model_loading import init_model
    model, cfg = init_model(config, checkpoint)
    model.test_cfg.update(test_cfg)
    evaluator = Evaluator(cfg.test_evaluator)
    n = 0
    for batch in Runner.build_dataloader(cfg.test_dataloader, seed=0):
        samples = model.test_step(batch)
        evaluator.process(samples, batch)
        n += len(samples)
    return evaluator.evaluate(n)


# Training the shipped weights: run this file.


def _batches(data_root: str, pipe: list):
    from mmengine.runner import Runner
    dl = Runner.build_dataloader(loader(data_root, 'train', pipe, train=True), seed=0)
    while True:
        yield from dl


def _train(model, batches, steps: int, lr: float = 1e-3) -> None:
    """A fixed number of steps at a constant rate (2e-3 with a one-cycle
    schedule left a teacher reading nothing after 2500 steps)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    model.train()
    for _ in range(steps):
        data = model.data_preprocessor(next(batches), True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def _read_test_split(model, data_root: str, main_stream: str = 'lr') -> list:
    from mmengine.runner import Runner
    hr = main_stream == 'hr'
    cfg = loader(data_root, 'test', pipeline(main_stream, with_hr=hr), load_hr=hr)
    with torch.no_grad():
        return [s for batch in Runner.build_dataloader(cfg, seed=0)
                for s in model.test_step(batch)]


def _plate_accuracy(samples: list) -> float:
    return sum(s.pred_text == s.gt_text for s in samples) / len(samples)


def train_weights(out_dir: str = WEIGHTS, data_root: str = 'data/tiny_run_plates',
                  teacher_steps: int = 2500, student_steps: int = 2000,
                  keep_teacher: bool = False, gamma: float = SELECTOR_GAMMA,
                  seed: int = 0) -> dict:
    """Train the shipped models on the train split of 1000 tracks and return
    what they read on its test split (the tests' own 6 tracks): the teacher
    on HR from scratch, then from it the no-KD student on LR and the DLD
    student with its selector (the published recipe's start).

    Each stage starts from ``seed`` (torch, numpy: the loader's random
    frames, random), so ``keep_teacher`` (the students trained again from
    the teacher in ``out_dir``) gives the students a whole run would. Only
    the teacher's training is slow, and chancy: a CTC model this small
    reads nothing for a thousand steps or more, and three of the five
    teachers trained here (seeds, rates, plates varied) still read nothing
    after 2500 steps (the shipped one, 83 % of the HR test plates, came
    from a run whose numpy state was not seeded; the students shipped are
    ``keep_teacher``'s from it). A teacher that reads under half the
    plates is refused: try another ``seed``.
    """
    from mmengine.runner import set_random_seed
    init_default_scope('dld')
    import dld.engine  # noqa: F401
    from dld.datasets import ensure_synth_plates
    from dld.registry import MODELS
    ensure_synth_plates(data_root, tracks=1000, val_tracks=2, test_tracks=6, frames=2, seed=0)
    os.makedirs(out_dir, exist_ok=True)
    teacher_path = osp.join(out_dir, 'teacher.pth')
    configs = _trained_configs(data_root, teacher_ckpt=teacher_path)
    configs['full']['losses']['selector']['gamma'] = gamma
    read = {}

    set_random_seed(seed)
    teacher = MODELS.build(configs['teacher'])
    if keep_teacher:
        teacher.load_state_dict(torch.load(teacher_path, weights_only=True)['state_dict'])
    else:
        _train(teacher, _batches(data_root, pipeline('hr', with_hr=True)), teacher_steps)
        _save(teacher.state_dict(), teacher_path)
    teacher.eval()
    read['teacher on HR'] = _plate_accuracy(_read_test_split(teacher, data_root, 'hr'))
    if read['teacher on HR'] < 0.5:
        raise RuntimeError(f"the teacher reads {read['teacher on HR']:.0%} of the HR test "
                           f'plates after {teacher_steps} steps: try another seed than {seed}')

    set_random_seed(seed)
    baseline = MODELS.build(configs['baseline'])
    baseline.load_state_dict(teacher.state_dict())
    _train(baseline, _batches(data_root, pipeline()), student_steps)
    _save(baseline.state_dict(), osp.join(out_dir, 'baseline.pth'))
    read['no-KD student on LR'] = _plate_accuracy(_read_test_split(baseline, data_root))

    set_random_seed(seed)
    dld = MODELS.build(dict(configs['full'], init_student_from_teacher=True))
    _train(dld, _batches(data_root, pipeline(with_hr=True)), student_steps)
    _save({k: v for k, v in dld.state_dict().items() if not k.startswith('teacher.')},
          osp.join(out_dir, 'student.pth'))
    chosen = _read_test_split(dld, data_root)
    read['DLD student + selector on LR'] = _plate_accuracy(chosen)
    scales = Counter(f'{s.pred_scale:g}x' for s in chosen)
    read["the selector's scales"] = ', '.join(f'{k}: {n}' for k, n in sorted(scales.items()))
    for scale in SCALES:
        dld.test_cfg['force_scale'] = scale
        read[f'DLD student at {scale:g}x'] = _plate_accuracy(_read_test_split(dld, data_root))
    return read


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description='Train the tiny models the tests ship.')
    parser.add_argument('--keep-teacher', action='store_true',
                        help='train the students again from the teacher in --out-dir')
    parser.add_argument('--data-root', default='data/tiny_run_plates',
                        help='where the training plates are generated')
    parser.add_argument('--out-dir', default=WEIGHTS, help=f'default: {WEIGHTS}')
    parser.add_argument('--gamma', type=float, default=SELECTOR_GAMMA,
                        help="the selector's FLOPs weight in training")
    parser.add_argument('--seed', type=int, default=0, help='of every stage (default: 0)')
    args = parser.parse_args()
    for what, acc in train_weights(args.out_dir, args.data_root, keep_teacher=args.keep_teacher,
                                   gamma=args.gamma, seed=args.seed).items():
        print(f'{what}: {acc:.1%} of the test plates' if isinstance(acc, float) else
              f'{what}: {acc}')
