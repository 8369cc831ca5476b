"""Accuracy against FLOPs of every way to read the test set: the numbers of the report.

Methods (one row each, per scale where it has scales):

* ``teacher_hr``: the teacher on the HR crops (the reference cost);
* ``teacher_lr``: the teacher on the LR crops at the base size (left out
  where the LR crop is the HR one, the efficiency setting);
* ``nokd@s``: the no-KD baseline student at fixed scale ``s``;
* ``dld@s``: the DLD student at fixed scale ``s`` (selector not run);
* ``dld_selector``: DLD as deployed, the selector choosing per image;
* ``dld_reread``: the same plus the config's reread cascade
  (``model.test_cfg.reread``), when it sets one;
* ``oracle``: per image, the smallest scale at which the DLD student is
  right, else the smallest: the limit any selector over these scales can
  reach, the most plates at the fewest FLOPs (its cost counts no selector).

The test set is loaded and run through its pipeline once; the collated
uint8 batches are cached and every method reads the cache (each through its
model's own data preprocessor), so all methods see the same images, but for
"Teacher on HR" where tracks without HR frames are skipped (:class:`CachedTestSet`).

FLOPs count one fused multiply-add as one flop (``dld.utils.count_flops``) at each method's real
input size, measured once per model and scale; throughput is wall-clock
images per second of ``predict`` on the current device, data loading and
normalisation excluded.
"""
import copy
import json
import logging
import os
import os.path as osp
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log

from dld.engine.checkpoint import submodule_state
from dld.engine.launch import ensure_config_data
from dld.models.distillers import resolve_teacher_checkpoint
from dld.models.distillers.teacher_checkpoint import find_teacher_checkpoint
from dld.utils.error_lines import first_lines
from dld.utils.flops import scale_input_shapes
from dld.utils.precision import autocast_to, resolve_amp
from dld.utils.run_environment import run_environment
from dld.utils.trained_input_size import recorded_input_size

from .model_loading import (
    CheckpointMismatchError,
    build_model_for_inference,
    dataset_sources,
    init_model,
    is_distiller_config,
    load_config,
    load_recognizer_state,
    read_state_dict,
    resolve_device,
    with_hr_frames,
)
from .oracle_selection import oracle_choice
from .plate_matching import has_plate_metric, plate_metric_case_sensitive, plate_read_right
from .scaled_prediction import RecognizerCosts, decoding_of, predict_at_scale


def convention() -> str:
    """How the report's figures are counted, by the counter in use."""
    from dld.utils.flops import COUNTED_BY, flop_counter
    return (f'FLOPs are counted at each input size actually read, {COUNTED_BY[flop_counter()]}: '
            'one fused multiply-add counts as one flop, as fvcore counts '
            '(half the "2 x MAC" figure some papers quote); cheap element-wise ops are '
            'not counted. A beam search of width W is counted in full: an attention '
            'decoder on W hypotheses at every step, an upper bound for a search that '
            'stops early; a CTC prefix search over every frame, exact; "saved" compares '
            'with the teacher decoding greedily.')


DEFAULT_PREFIXES = dict(plate='plate', track='track')


def metric_prefixes(evaluator: Evaluator) -> Dict[str, str]:
    """The key prefixes of an evaluator's plate and track metrics (a config
    may rename them, ``PlateRecogMetric(prefix='word')``).

    Of several metrics of a kind the first is read, as for the case
    sensitivity of "correct" (:func:`plate_metric_case_sensitive`), so that
    the accuracy column and the oracle judge a reading alike.
    """
    from dld.evaluation.metrics import PlateRecogMetric, TrackAccuracyMetric
    prefixes = {}
    for metric in evaluator.metrics:
        for name, kind in (('plate', PlateRecogMetric), ('track', TrackAccuracyMetric)):
            if isinstance(metric, kind) and name not in prefixes:
                prefixes[name] = metric.prefix or DEFAULT_PREFIXES[name]
    return {**DEFAULT_PREFIXES, **prefixes}


def student_training_input(cfg) -> Optional[str]:
    """``'hr'`` where a config's student trains on the HR crop (a pipeline
    step whose ``inference_input`` is ``'hr'``: ``CopyHRToLR``, the
    efficiency setting; or a recognizer packing the HR stream as its input),
    ``'lr'`` where on LR frames (read, or made from the
    HR one online); None where the config trains on no pipeline it holds."""
    from dld.registry import TRANSFORMS
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') or {}
    while isinstance(dataset, dict) and 'pipeline' not in dataset and (
            dataset.get('datasets') or dataset.get('dataset')):
        # a concatenation's first set; the set a RepeatDataset or ClassBalancedDataset wraps
        dataset = dataset['datasets'][0] if dataset.get('datasets') else dataset['dataset']
    steps = dataset.get('pipeline') if isinstance(dataset, dict) else None
    if not isinstance(steps, (list, tuple)):
        return None
    for step in steps:
        kind = step.get('type') if isinstance(step, dict) else None
        transform = kind if isinstance(kind, type) else TRANSFORMS.get(kind) if kind else None
        if getattr(transform, 'inference_input', None) == 'hr' or (
                isinstance(step, dict) and step.get('main_stream') == 'hr'):  # an HR recognizer
            return 'hr'
    return 'lr'


@dataclass
class MethodResult:
    """One row of the report."""

    method: str
    name: str
    scale: Optional[float]
    metrics: Dict[str, float]
    gflops: float
    params: int
    images_per_s: Optional[float]
    num_images: int
    correct: List[bool] = field(default_factory=list, repr=False)
    scales: List[float] = field(default_factory=list, repr=False)
    # each image's track, as ``correct`` (the image's own where it has none):
    # the accuracy's interval counts the frames of one track as alike
    tracks: List[str] = field(default_factory=list, repr=False)
    # each image's key (dld.evaluation.per_image.image_key), as ``correct``:
    # report.json's per_image block keeps the rows' outcomes by it
    images: List[str] = field(default_factory=list, repr=False)
    # the prefixes of the config's plate and track metrics' keys
    prefixes: Dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PREFIXES),
                                     repr=False)
    # each image's reading, as ``correct``: text, confidence, gflops, scales_read,
    # scale_probs, truncated: the per-image records' (per_image_records)
    readings: List[dict] = field(default_factory=list, repr=False)

    def row(self, teacher_gflops: Optional[float]) -> dict:
        saved = None
        if teacher_gflops:
            saved = 100.0 * (1.0 - self.gflops / teacher_gflops)
        plate, track = self.prefixes['plate'], self.prefixes['track']
        low = high = None
        if self.correct and len(self.tracks) == len(self.correct):
            from dld.evaluation.accuracy_interval import accuracy_interval
            found = accuracy_interval(self.correct, self.tracks)
            low, high = found['low'], found['high']
        return dict(method=self.method, name=self.name, scale=self.scale,
                    accuracy=self.metrics.get(f'{plate}/accuracy'),
                    accuracy_low=low, accuracy_high=high,
                    char_accuracy=self.metrics.get(f'{plate}/char_accuracy'),
                    one_minus_ned=self.metrics.get(f'{plate}/one_minus_ned'),
                    track_accuracy=self.metrics.get(f'{track}/accuracy'),
                    gflops=self.gflops, gflops_saved_pct=saved, params=self.params,
                    images_per_s=self.images_per_s, num_images=self.num_images,
                    metrics=dict(self.metrics))


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class CachedTestSet:
    """The config's test set, loaded once: collated uint8 batches (CPU).

    ``batches`` hold every image of the test set as configured (what
    ``tools/test.py`` evaluates); every row but "Teacher on HR" reads them.
    ``hr_batches`` (``with_hr``) hold the same images with their HR frames.
    A test set with ``strict=False`` drops, when asked for HR, the tracks
    that have none: the students must not lose them too, so the LR set is
    then loaded on its own and ``hr_batches`` is the smaller HR subset,
    which ``note`` counts.
    """

    def __init__(self, cfg, with_hr: bool, max_batches: Optional[int] = None) -> None:
        from mmengine.runner import Runner
        if max_batches is not None and max_batches < 1:
            raise ValueError(f'max_batches must be >= 1 (or None for all), got {max_batches}')
        self.with_hr = False
        self.note = None
        self.hr_batches: List[dict] = []
        lr_loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader), seed=0)
        # as tools/test.py refuses it, before any row reads it (two sets' shared
        # track ids stopped the first row's track metric after its whole pass)
        from dld.engine.hooks.track_ids_check_hook import check_evaluated_set
        check_evaluated_set(lr_loader.dataset,
                            Evaluator(copy.deepcopy(cfg.test_evaluator)).metrics)
        num_lr = len(lr_loader.dataset)
        if num_lr == 0:
            ann_file = getattr(lr_loader.dataset, 'ann_file', None)
            raise ValueError(f'The test set has no images ({type(lr_loader.dataset).__name__}'
                             + (f', ann_file={ann_file!r}' if ann_file else '')
                             + '): nothing to evaluate. Check its label file and data_root.')
        hr_loader = None
        if with_hr:
            try:
                hr_loader = Runner.build_dataloader(
                    with_hr_frames(copy.deepcopy(cfg.test_dataloader)), seed=0)
                self.hr_batches = self._take(hr_loader, max_batches)
                self.with_hr = bool(self.hr_batches) and all(
                    'inputs_hr' in b for b in self.hr_batches)
            except Exception as err:  # noqa: BLE001 - LR-only test sets have no HR
                self.note = (f'teacher on HR skipped: the test set\'s HR frames cannot be '
                             f'loaded ({err}); a test set read with strict=False leaves '
                             'its tracks without HR frames out of that row only')
            if not self.with_hr:
                self.hr_batches = []
                self.note = self.note or ('teacher on HR skipped: no test image has HR '
                                          'frames')
        if self.with_hr and len(hr_loader.dataset) == num_lr:
            # Loading HR drops nothing from the label file: the same images.
            self.batches = self.hr_batches
        else:
            self.batches = self._take(lr_loader, max_batches)
        self.num_images = _count(self.batches)
        self.num_hr_images = _count(self.hr_batches)
        if self.with_hr and self.hr_batches is not self.batches:
            self.note = (f'Teacher on HR read {self.num_hr_images} of the {self.num_images} '
                         f'test images: {num_lr - len(hr_loader.dataset)} of the test set\'s '
                         f'{num_lr} images have no HR frames (skipped with strict=False); '
                         'every other row reads all the test images')
        if self.note:
            print_log(self.note, logger='current', level=logging.WARNING)
        # The efficiency setting's student reads the HR crop itself: the
        # teacher "on LR" would be the teacher on HR again.
        self.lr_is_hr = self.with_hr and all(
            torch.equal(lr, hr)
            for b in self.hr_batches for lr, hr in zip(b['inputs'], b['inputs_hr']))

    @staticmethod
    def _take(loader, max_batches: Optional[int]) -> List[dict]:
        from dld.engine.hooks.loader_workers_stop_hook import worker_exit_codes
        from dld.utils.stop_signals import stop_signal
        batches = []
        try:
            for i, batch in enumerate(loader):
                if max_batches is not None and i >= max_batches:
                    break
                batches.append(batch)
        except RuntimeError as err:
            # workers killed by a SIGTERM to the process group: a stop (the
            # HR set's errors would take it for a set without HR frames)
            if stop_signal(err, worker_exit_codes(loader)) == 'SIGTERM':
                raise KeyboardInterrupt('SIGTERM') from err
            raise
        return batches


def _count(batches: List[dict]) -> int:
    return sum(len(b['data_samples']) for b in batches)


def _set_names(batches: List[dict]) -> set:
    """The sets (``set_name``) the images of ``batches`` come from."""
    return {s.metainfo.get('set_name') for b in batches for s in b['data_samples']}


def check_no_forced_scale(model, what: str) -> None:
    """``model.test_cfg.force_scale`` would make the selector's rows read at
    one fixed scale under the selector's name: refused."""
    forced = (getattr(model, 'test_cfg', None) or {}).get('force_scale')
    if forced is not None:
        raise ValueError(
            f'{what} reads every scale itself and the selector\'s own choices, but the '
            f'config sets model.test_cfg.force_scale={forced}, which would read the '
            "selector's rows at that one scale; leave it out (--scales picks the fixed "
            'scales read).')


class FlopsAccuracyEvaluator:
    """Evaluate every method on one cached test set.

    Args:
        config (str | Config): the DLD config (its test set and evaluator are used).
        checkpoint (str): the DLD checkpoint (student + selector; full is fine).
        teacher_checkpoint (str, optional): teacher weights (a recognizer or a
            full DLD checkpoint); default: the DLD checkpoint's own, if it has them.
        baseline_checkpoint (str, optional): the no-KD student: a recognizer
            checkpoint, or a DLD checkpoint whose student is read (another
            DLD run's student as the baseline).
        baseline_config (str, optional): its config; default: the DLD
            student's architecture.
        baseline_name (str, optional): the name of its rows (``'<name>
            @0.8'``); default ``'No-KD student'`` for a recognizer checkpoint,
            ``'Baseline student'`` for a DLD checkpoint's student (another
            run, an earlier epoch), which is no no-KD student.
        scales (Sequence[float], optional): fixed scales to evaluate; default:
            the distiller's candidate scales.
        device (str): e.g. 'cpu', 'cuda:0'.
        max_batches (int, optional): evaluate only this many test batches.
        with_teacher (bool): load the teacher and the HR frames. Callers that
            read only the students (:meth:`read_fixed`) pass False and skip
            both; :meth:`evaluate` then has no teacher rows.
        amp (bool): read in mixed precision, as ``tools/infer.py --amp``
            (float16 on CUDA, bfloat16 on a CPU with native bfloat16; float32
            with a warning elsewhere). The report names the precision.
    """

    def __init__(self, config, checkpoint: str, teacher_checkpoint: Optional[str] = None,
                 baseline_checkpoint: Optional[str] = None,
                 baseline_config: Optional[str] = None,
                 scales: Optional[Sequence[float]] = None, device: str = 'cpu',
                 max_batches: Optional[int] = None, with_teacher: bool = True,
                 amp: bool = False, baseline_name: Optional[str] = None) -> None:
        # paths as str: a pathlib.Path read, but the report's inputs kept it
        # (report.json could not be written, after every row was read)
        config, checkpoint, teacher_checkpoint, baseline_checkpoint, baseline_config = (
            os.fspath(p) if isinstance(p, os.PathLike) else p for p in (
                config, checkpoint, teacher_checkpoint, baseline_checkpoint, baseline_config))
        self.cfg = load_config(config)
        self.device = resolve_device(device)
        self.amp_dtype = resolve_amp(self.device.type, amp)
        self.notes: List[str] = []
        if amp and self.amp_dtype is None:  # the warning alone scrolled by; report.md said nothing
            self.notes.append(f'--amp / amp=True asked, but float32 used: mixed precision is '
                              f'no faster on this {self.device.type} (no CUDA device, and no '
                              'native bfloat16: AVX512-BF16 or AMX)')
        self.model, _ = init_model(self.cfg, checkpoint, device=self.device)
        from .scaled_prediction import is_distiller
        if not is_distiller(self.model):
            raise TypeError('flops_accuracy needs a DLD config (model.type=DLDDistiller); '
                            f"got {self.cfg.model.get('type')}")
        check_no_forced_scale(self.model, 'the report')
        self.costs = self.model.costs
        self.base_size = tuple(self.model.base_size)
        if isinstance(scales, (int, float)) and not isinstance(scales, bool):
            scales = [scales]  # one scale, as --scales 0.6
        self.scales = sorted({float(s) for s in (scales or self.model.scales)}, reverse=True)
        self._warn_of_untrained_scales()
        self.has_selector = self.model.selector is not None
        self.paths_teacher = teacher_checkpoint
        self.has_teacher = with_teacher and self._load_teacher(checkpoint, teacher_checkpoint)
        if not with_teacher:
            self.notes.append('teacher rows skipped: with_teacher=False')
        self.baseline_name = baseline_name
        self.baseline = self._load_baseline(baseline_checkpoint, baseline_config)
        self._baseline_costs = None
        self._results: Optional[List[MethodResult]] = None  # of the last evaluate()
        self._results_scales: List[float] = []  # the scales it read
        self._ids: Dict[str, Tuple[List[str], List[str]]] = {}  # by stream
        # A fresh clone has no test set yet: generate the synthetic one (logged),
        # once every model is loaded (a missing checkpoint was refused after
        # minutes of generating)
        ensure_config_data(self.cfg, loaders=('test_dataloader', ))
        # tools/flops_accuracy.py hands a Config (with --cfg-options applied):
        # its file is still the one to name.
        config_path = config if isinstance(config, str) else getattr(config, 'filename', None)
        self.paths = dict(config=config_path,
                          checkpoint=checkpoint, teacher_checkpoint=self.paths_teacher,
                          baseline_checkpoint=baseline_checkpoint,
                          baseline_config=baseline_config)
        self.training = checkpoint_training(checkpoint,
                                            getattr(self.model, 'checkpoint_meta', None))
        if self.training.get('finished') is False:
            self.notes.append(unfinished_note(self.training))
        test_set = self.cfg.test_dataloader.dataset
        # the set's, or those of each set of a concatenation (test_sets)
        self.paths.update(test_data_root=test_set.get('data_root'),
                          test_ann_file=test_set.get('ann_file'), max_batches=max_batches,
                          test_sets=_absolute_roots(dataset_sources(test_set)))
        # absolute where they are here: relative ones named the report reader's
        # working directory, not the run's
        self.paths = {k: osp.abspath(v) if isinstance(v, str) and k != 'test_ann_file'
                      and osp.exists(v) else v for k, v in self.paths.items()}
        self.data = CachedTestSet(self.cfg, with_hr=self.has_teacher, max_batches=max_batches)
        if self.data.note:
            self.notes.append(self.data.note)
        if self.data.num_images < FEW_IMAGES:
            self.notes.append(
                f'{self.data.num_images} test images: one image is '
                f'{100 / max(self.data.num_images, 1):.2g} pt of accuracy, so differences of '
                'a few points between rows are within chance; tools/analysis/compare_reports.py '
                'REPORT --pair A B, benchmarks/paired_lead.py and '
                'tools/analysis/analyze_readings.py A B give intervals')
        if max_batches is not None:
            sets = len(self.paths['test_sets'] or ())
            read = len(_set_names(self.data.batches))
            # a concatenation is read set by set: the first batches may hold the first only
            of_sets = (f', from {read} of the {sets} test sets, in their order'
                       if 1 < sets and read < sets else '')
            self.notes.append(
                f'only the first {max_batches} test batch(es) read ({self.data.num_images} '
                f'images{of_sets}, max_batches): a quick look, not the test set; tracks cut '
                'at the last batch are voted on with the frames read')
        self.case_sensitive = plate_metric_case_sensitive(self.cfg)
        if not has_plate_metric(self.cfg):
            self.notes.append(
                'the test_evaluator has no PlateRecogMetric: the plate and character '
                'accuracy columns stay empty; the oracle rows judge readings as its default '
                'does (exact, case-insensitive)')

    # ------------------------------------------------------------ models
    def _load_teacher(self, checkpoint: str, teacher_checkpoint: Optional[str]) -> bool:
        # A born-again teacher (a trained student, maybe reading LR) is no HR
        # teacher: the rows named 'Teacher on HR' and the FLOPs saved against
        # it need the HR teacher, given explicitly.
        born_again = self.model.born_again_teacher
        if teacher_checkpoint is None and born_again:
            self.notes.append(
                "teacher rows skipped: the config's teacher is a trained student "
                f"(teacher_from='{self.model.teacher_from}', "
                f"teacher_input='{self.model.teacher_input}'), not the HR teacher; pass "
                '--teacher-ckpt / teacher_checkpoint= with the HR teacher and the config it '
                'was distilled with (e.g. configs/dld_plate.py)')
            return False
        if teacher_checkpoint is None:
            state, _ = read_state_dict(checkpoint)
            if any(k.startswith('teacher.') for k in state):
                self.paths_teacher = f'{checkpoint} (its teacher)'
                return True
            cfg_teacher = self.cfg.model.get('teacher_ckpt')
            if cfg_teacher:
                cfg_teacher = resolve_teacher_checkpoint(cfg_teacher)
            if not (cfg_teacher and osp.isfile(cfg_teacher)):
                given = self.cfg.model.get('teacher_ckpt')
                self.notes.append('teacher rows skipped: the DLD checkpoint holds no teacher '
                                  'weights, no --teacher-ckpt / teacher_checkpoint= was given '
                                  f'and the config\'s model.teacher_ckpt ({given!r}) names no '
                                  f'checkpoint found from {os.getcwd()}')
                return False
            teacher_checkpoint = cfg_teacher
            self.paths_teacher = cfg_teacher
        elif osp.isdir(teacher_checkpoint):  # a work dir, as model.teacher_ckpt takes
            teacher_checkpoint = find_teacher_checkpoint(teacher_checkpoint)
            self.paths_teacher = teacher_checkpoint
        state, _ = read_state_dict(teacher_checkpoint)
        state = submodule_state(state, 'teacher') or state
        hint = (" (the config's teacher is a born-again student, built like the student: "
                'evaluate with the config the HR teacher was distilled with, e.g. '
                'configs/dld_plate.py)') if born_again else ''
        try:
            missing, _ = self.model.teacher.load_state_dict(state, strict=False)
        except RuntimeError as err:  # shapes differ
            raise CheckpointMismatchError(
                f"{teacher_checkpoint} does not fit the config's teacher{hint}: "
                f'{first_lines(err)}') from None
        if missing:
            raise CheckpointMismatchError(
                f"{teacher_checkpoint} does not hold the config's teacher{hint}: "
                f'{len(missing)} missing weight(s), e.g. {missing[:5]}')
        return True

    def _load_baseline(self, checkpoint: Optional[str],
                       config: Optional[str]) -> Optional[nn.Module]:
        if checkpoint is None:
            self.notes.append('no-KD rows skipped: no --baseline-ckpt / baseline_checkpoint= '
                              'given')
            return None
        # Default: the DLD student's architecture as the distiller built it,
        # per-scale BatchNorm included (a plain checkpoint's statistics load
        # into every scale).
        model_cfg = load_config(config).model if config is not None else self.model.student_cfg
        if is_distiller_config(model_cfg):
            raise ValueError(f'--baseline-config {config} is a DLD config; the baseline needs '
                             "the recognizer's own config (e.g. configs/student_plate_lr.py), "
                             'also when its checkpoint is a DLD run')
        if config is not None:
            self._note_other_training_input(config)
        model = build_model_for_inference(model_cfg)
        state, meta = read_state_dict(checkpoint)
        from_dld = load_recognizer_state(model, state, meta, checkpoint)
        if not from_dld:  # a DLD student trained at every scale of its base size
            self._note_baseline_input_size(checkpoint, recorded_input_size(meta))
        if self.baseline_name is None:
            self.baseline_name = 'Baseline student' if from_dld else 'No-KD student'
            if from_dld:
                self.notes.append(
                    f'the baseline rows read the student of {checkpoint}, a DLD checkpoint: '
                    'named "Baseline student" (kept as nokd@ in report.json); '
                    '--baseline-name names them')
        return model.to(self.device).eval()

    def _note_baseline_input_size(self, checkpoint: str,
                                  trained: Optional[Tuple[int, int]]) -> None:
        """Said where a plain baseline trained at a size no scale of the
        report reads (a recognizer of one's own at a fixed LR size): its
        rows were of sizes it never trained at, without a word, and its own
        operating point missing."""
        sizes = scale_input_shapes(self.base_size, self.scales)
        if trained is None or tuple(trained) in sizes:
            return
        h, w = trained
        own = round(w / self.base_size[1], 4)
        add = (f'; --scales {" ".join(f"{s:g}" for s in sorted({*self.scales, own}, reverse=True))}'
               f' adds its own ({h}x{w} is scale {own:g} of {self.base_size[0]}x'
               f'{self.base_size[1]})'
               if scale_input_shapes(self.base_size, [own])[0] == (h, w) else '')
        self.notes.append(
            f'the baseline ({checkpoint}) trained at {h}x{w}, which no scale of this report '
            f"reads ({', '.join(f'{s:g}: {a}x{b}' for s, (a, b) in zip(self.scales, sizes))}): "
            f'its rows read sizes it never trained at{add}')

    def _note_other_training_input(self, config: str) -> None:
        """Said where the baseline trained on other crops than the DLD
        student (LR frames against the HR crop of the efficiency setting):
        its rows read the DLD config's test images, which it never saw the
        like of (an LR-trained no-KD student in an efficiency report went
        without a word)."""
        theirs, ours = student_training_input(load_config(config)), student_training_input(self.cfg)
        if theirs and ours and theirs != ours:
            self.notes.append(
                f'the baseline ({config}) trained on {theirs.upper()} crops, and its rows read '
                f"the DLD student's input, the {ours.upper()} crop at each scale: not the "
                'setting it was trained for; give a baseline trained on the same crops')

    def _preprocessor(self, model: nn.Module):
        """The model's own data preprocessor when it normalises, else the distiller's."""
        from dld.models.data_preprocessors import PlateDataPreprocessor
        pre = getattr(model, 'data_preprocessor', None)
        return pre if isinstance(pre, PlateDataPreprocessor) else self.model.data_preprocessor

    # ------------------------------------------------------------ running
    @torch.no_grad()
    def _run(self, method: str, name: str, scale: Optional[float], model: nn.Module,
             predict: Callable, flops_of: Callable, params: int, stream: str = 'inputs'
             ) -> MethodResult:
        """Run ``predict(inputs, samples)`` over the cached batches (the HR
        ones for ``stream='inputs_hr'``); evaluate it."""
        pre = self._preprocessor(model)
        evaluator = Evaluator(copy.deepcopy(self.cfg.test_evaluator))
        correct, flops, scales, readings = [], [], [], []
        seconds = 0.0
        batches = self.data.hr_batches if stream == 'inputs_hr' else self.data.batches
        for i, batch in enumerate(batches):
            batch = dict(batch, data_samples=copy.deepcopy(batch['data_samples']))
            if stream == 'inputs_hr':
                batch = dict(inputs=batch['inputs_hr'], data_samples=batch['data_samples'])
                # ResizePair stretches the HR frame over its input: the LR
                # frame's padding (valid_ratio) is not the HR frame's.
                for ds in batch['data_samples']:
                    ds.set_metainfo(dict(valid_ratio=1.0))
            else:
                batch.pop('inputs_hr', None)
            data = pre(batch, False)
            with autocast_to(self.device.type, self.amp_dtype):
                if i == 0:  # warm-up, untimed: first calls allocate and pick kernels
                    predict(data['inputs'], copy.deepcopy(data['data_samples']))
                _sync(self.device)
                start = time.perf_counter()
                samples = predict(data['inputs'], data['data_samples'])
                _sync(self.device)
            seconds += time.perf_counter() - start
            evaluator.process(samples, batch)
            for ds in samples:
                correct.append(plate_read_right(ds.get('pred_text', ''), ds.gt_text,
                                                self.case_sensitive))
                flops.append(flops_of(ds))
                scales.append(float(ds.get('pred_scale', scale if scale is not None else 1.0)))
                reading = dict(text=ds.get('pred_text', ''),
                               confidence=float(ds.get('pred_score', 0.0)),
                               gflops=flops[-1] / 1e9,
                               scales_read=[float(x) for x in ds.get('pred_scales',
                                                                     [scales[-1]])])
                # why the selector chose its scale; whether max_seq_len cut it
                reading['scale_probs'] = dict(ds.pred_scale_probs) \
                    if 'pred_scale_probs' in ds else None
                reading['truncated'] = ds.get('pred_truncated')
                readings.append(reading)
        n = len(correct)
        metrics = evaluator.evaluate(n) if n else {}
        metrics = {k: (v.item() if hasattr(v, 'item') else v) for k, v in metrics.items()}
        images, tracks = self._identities(stream)
        return MethodResult(method, name, scale, metrics,
                            gflops=sum(flops) / max(n, 1) / 1e9, params=params,
                            images_per_s=n / seconds if seconds > 0 else None, num_images=n,
                            correct=correct, scales=scales, tracks=tracks, images=images,
                            prefixes=metric_prefixes(evaluator), readings=readings)

    def read_fixed(self, which: str, scale: float) -> MethodResult:
        """The DLD student (``'dld'``) or the no-KD student (``'nokd'``) at one
        fixed scale; ``correct`` holds each test image's outcome, in order."""
        from dld.utils.flops import count_inference_params
        if which == 'dld':
            return self._run(f'dld@{scale:g}', f'DLD student @{scale:g}', scale, self.model,
                             _fixed(self.model.student, scale, self.base_size),
                             _const(self.costs.student_flops_at(scale)),
                             count_inference_params(self.model.student))
        if which != 'nokd':
            raise ValueError(f"which must be 'dld' or 'nokd', got {which!r}")
        if self.baseline is None:
            raise ValueError('no no-KD student: pass baseline_checkpoint')
        if self._baseline_costs is None:
            self._baseline_costs = RecognizerCosts(self.baseline, self.base_size)
        return self._run(f'nokd@{scale:g}', f'{self.baseline_name} @{scale:g}', scale,
                         self.baseline,
                         _fixed(self.baseline, scale, self.base_size),
                         _const(self._baseline_costs.student_flops_at(scale)),
                         count_inference_params(self.baseline))

    def _image_key(self, sample, index: int) -> str:
        from dld.evaluation.per_image import image_key
        sets = self.paths.get('test_sets') or ()
        roots = [self.paths.get('test_data_root')] + [s.get('data_root') for s in sets]
        return image_key(sample.metainfo, index, [r for r in roots if isinstance(r, str)],
                         several_sets=len(sets) > 1)

    def _identities(self, stream: str = 'inputs') -> Tuple[List[str], List[str]]:
        """Each cached image's key and track (its own id where the set has
        no tracks), in order, of the LR batches (``'inputs'``) or the HR ones
        (``'inputs_hr'``, Teacher on HR's: fewer where some tracks have no HR
        frames); worked out once, shared by every row of that stream."""
        if stream not in self._ids:
            batches = self.data.hr_batches if stream == 'inputs_hr' else self.data.batches
            samples = [d for b in batches for d in b['data_samples']]
            self._ids[stream] = (
                [self._image_key(d, i) for i, d in enumerate(samples)],
                [f'image {i}' if d.get('track_id') is None else str(d.get('track_id'))
                 for i, d in enumerate(samples)])
        return self._ids[stream]

    def per_image(self, results: List[MethodResult]) -> dict:
        """report.json's ``per_image`` block: every row's outcome per test
        image, by image key (:mod:`dld.evaluation.per_image`)."""
        from dld.evaluation.metrics.metric_groups import sample_group
        from dld.evaluation.per_image import bits, per_image_block

        from .plate_matching import plate_metric_group_by
        keys, tracks = self._identities()
        samples = [d for b in self.data.batches for d in b['data_samples']]
        labels = [str(d.get('gt_text', '')) for d in samples]
        # each image's group, as the plate metric groups them (a camera's set):
        # compare_reports.py pairs each group on its own
        group_by = plate_metric_group_by(self.cfg)
        groups = [sample_group(d, group_by) for d in samples] if group_by else None
        return per_image_block(keys, labels, tracks,
                               {r.method: bits(r.correct, r.images, keys) for r in results},
                               self.case_sensitive, groups=groups, group_by=group_by)

    def track_ids(self) -> List[str]:
        """Each test image's track (its own id where the set has no tracks), in order."""
        return list(self._identities()[1])

    def per_image_records(self) -> List[dict]:
        """One record per test image of the last :meth:`evaluate`, in the test
        set's order (``tools/flops_accuracy.py --per-image``).

        Each is a record of ``tools/infer.py --out`` (docs/inference.md, "One
        record per image": ``tools/analysis/analyze_readings.py`` reads it,
        and pairs it with infer.py's records of the same label file) of the
        selector's reading without reread (the "DLD + selector" row; without
        a selector, the student's at the largest scale read): ``input``,
        ``path``, ``text``, ``confidence``, ``scale``, ``scales_read``,
        ``scale_probs``, ``truncated``, ``input_size``, ``image_size``, ``gflops``,
        ``gflops_teacher``, ``gflops_saved``, ``track_id``, ``frame_idx``,
        ``annotation`` (``'file:line'`` of the label file's line, where the
        set has one), ``gt_text``, ``read_right``, ``case_sensitive``,
        ``error`` (None);
        and the report's own:

        * ``by_scale``: ``{'<scale>': {text, confidence, read_right}}``, the
          DLD student's reading at each fixed scale of the report;
        * ``oracle_scale``: the oracle's scale (the cheapest that reads it
          right, the smallest where none does);
        * ``choice``: ``'matched'``, ``'too_dear'`` or ``'too_cheap'``, the
          selector's scale against the oracle's, as the report's section on
          the selector's choices counts them (None without a selector, or
          where it chose a scale ``--scales`` left out);
        * ``reread``: where the config sets a reread cascade, the reading
          after it (``text``, ``confidence``, ``scale``, ``scales_read``,
          ``gflops``, ``read_right``).
        """
        if self._results is None:
            raise RuntimeError('per_image_records() needs evaluate() first (or the last '
                               'evaluate() did not finish: its records would be stale)')
        from dld.utils.flops import scale_input_shapes
        rows = {r.method: r for r in self._results}
        # the scales the last evaluate() read (self.scales set since: a KeyError)
        scales = self._results_scales
        fixed = {s: rows[f'dld@{s:g}'] for s in scales}
        selector = rows.get('dld_selector')
        main = selector or fixed[scales[0]]
        reread, oracle = rows.get('dld_reread'), rows['oracle']
        samples = [d for b in self.data.batches for d in b['data_samples']]
        teacher = self.costs.teacher_flops / 1e9
        records = []
        for i, ds in enumerate(samples):
            # the file the student's crop comes from: the LR frame, or the HR
            # crop itself (efficiency setting) or the HR frame it is made from
            path = ds.metainfo.get('lr_path') or ds.metainfo.get('hr_path')
            reading, scale = main.readings[i], main.scales[i]
            (h, w), = scale_input_shapes(self.base_size, [scale])
            shape = ds.metainfo.get('ori_shape')
            rec = dict(input=path if path else f'test image {i}',
                       path=osp.abspath(path) if path else None,
                       text=reading['text'], confidence=reading['confidence'], scale=scale,
                       scales_read=reading['scales_read'], input_size=[h, w],
                       image_size=[int(shape[0]), int(shape[1])] if shape else None,
                       gflops=reading['gflops'], gflops_teacher=teacher,
                       gflops_saved=teacher - reading['gflops'],
                       track_id=ds.get('track_id'), frame_idx=ds.get('frame_idx'))
            where = ds.metainfo.get('annotation')
            if where:  # the label file's line, as infer.py's records of it say
                rec['annotation'] = _absolute_where(where)
            gt = getattr(ds, 'gt_text', None)
            if gt is not None:
                rec.update(gt_text=gt, read_right=bool(main.correct[i]),
                           case_sensitive=bool(self.case_sensitive))
            rec.update(scale_probs=reading['scale_probs'], truncated=reading['truncated'],
                       error=None, error_type=None)
            rec['by_scale'] = {f'{s:g}': dict(text=r.readings[i]['text'],
                                              confidence=r.readings[i]['confidence'],
                                              read_right=bool(r.correct[i]))
                               for s, r in fixed.items()}
            rec['oracle_scale'] = oracle.scales[i]
            rec['choice'] = None
            if selector is not None and scale in fixed:
                rec['choice'] = ('too_dear' if scale > oracle.scales[i] else 'too_cheap'
                                 if scale < oracle.scales[i] else 'matched')
            if reread is not None:
                again = reread.readings[i]
                rec['reread'] = dict(text=again['text'], confidence=again['confidence'],
                                     scale=reread.scales[i], scales_read=again['scales_read'],
                                     gflops=again['gflops'], read_right=bool(reread.correct[i]))
            records.append(rec)
        return records

    def evaluate(self) -> dict:
        """Every method; returns the report dict (what ``report.json`` holds)."""
        from dld.utils.flops import count_inference_params, count_params
        # per_image_records() of an evaluate() that raised (a Ctrl-C in a
        # notebook) returned the previous evaluate()'s records
        self._results = None
        m = self.model
        student, teacher, selector = m.student, m.teacher, m.selector
        # A beam search's cost is counted on first use, which takes a while:
        # count every scale the selector may choose now, not in a timed batch.
        for s in m.scales:
            self.costs.student_flops_at(s)
        p_student = count_inference_params(student)
        p_selector = count_params(selector) if selector is not None else 0
        results: List[MethodResult] = []
        # this report's notes: the evaluator's own list was the report's, so a
        # second evaluate() repeated its notes and kept what add_external_rows
        # had added to the first report
        notes = list(self.notes)
        if self.has_teacher:
            # The teacher as it decodes (a beam search in full); the reference
            # of "saved" stays its greedy cost, self.costs.teacher_flops.
            t_flops = RecognizerCosts(teacher, self.base_size).student_flops_at(1.0)

            def teacher_predict(x, s):
                return predict_at_scale(teacher, x, s, 1.0, self.base_size)

            if self.data.with_hr:
                results.append(self._run('teacher_hr', 'Teacher on HR', 1.0, m, teacher_predict,
                                         lambda ds: t_flops, count_inference_params(teacher),
                                         stream='inputs_hr'))
            if not self.data.lr_is_hr:
                results.append(self._run('teacher_lr', 'Teacher on LR', 1.0, m, teacher_predict,
                                         lambda ds: t_flops, count_inference_params(teacher)))
        if self.baseline is not None:
            results += [self.read_fixed('nokd', s) for s in self.scales]
        dld_fixed = {}
        for s in self.scales:
            res = self.read_fixed('dld', s)
            dld_fixed[s] = res
            results.append(res)
        deployed = []
        if self.has_selector:
            deployed.append(self._run('dld_selector', 'DLD + selector', None, m,
                                      lambda x, s: m.predict(x, s, reread={}),
                                      lambda ds: ds.get('pred_gflops') * 1e9,
                                      p_student + p_selector))
            if m.test_cfg.get('reread'):
                deployed.append(self._run('dld_reread', 'DLD + selector + reread', None, m,
                                          lambda x, s: m.predict(x, s),
                                          lambda ds: ds.get('pred_gflops') * 1e9,
                                          p_student + p_selector))
        results += deployed
        # The oracle chooses among the scales read here; the selector among
        # all its candidates. With --scales leaving some out, the oracle is
        # a weaker bound than the selector's own, and its rows say so.
        left_out = self.candidates_left_out()
        extra = self.scales_not_candidates()
        only = '' if not (left_out or extra) else \
            f" (scales {', '.join(f'{s:g}' for s in self.scales)} only)"
        if left_out and self.has_selector:
            notes.append(
                f"oracle rows choose among the evaluated scales only: candidate scale(s) "
                f"{', '.join(f'{s:g}' for s in left_out)} left out by --scales, which the "
                "selector may choose; compare the selector with them only over all candidates")
        if extra and self.has_selector:
            notes.append(
                f"oracle rows may choose scale(s) {', '.join(f'{s:g}' for s in extra)}, "
                "which are not the selector's candidates: a bound the selector cannot reach")
        results.append(self._oracle(dld_fixed, p_student, name='Oracle selector' + only))
        choices = None
        if deployed:  # the selector's own row (without reread) against the fixed scales
            from .selector_choices import selector_choices
            choices = selector_choices(
                deployed[0].scales, deployed[0].correct, results[-1].scales,
                {s: r.correct for s, r in dld_fixed.items()},
                {s: self.costs.student_flops_at(s) / 1e9 for s in dld_fixed},
                self.costs.selector_flops / 1e9)
            if choices is None and left_out:
                chose = sorted({float(s) for s in deployed[0].scales} - set(dld_fixed),
                               reverse=True)
                notes.append(
                    "no section on the selector's choices: it chose scale(s) "
                    f"{', '.join(f'{s:g}' for s in chose)}, which --scales left out "
                    "(the per-image records' choice is null there); read every candidate "
                    'to judge its choices')
        matched_names = dict(dld_selector=('oracle_matched', "Oracle at the selector's accuracy"),
                             dld_reread=('oracle_matched_reread',
                                         "Oracle at the reread's accuracy"))
        for res in deployed:
            method, name = matched_names[res.method]
            oracle = self._oracle(dld_fixed, p_student, sum(res.correct), method, name + only)
            if sum(oracle.correct) < sum(res.correct):  # only where --scales left some out
                notes.append(
                    f'{oracle.name!r} reads {sum(oracle.correct)} of {oracle.num_images} '
                    f'plates, fewer than {res.name!r} ({sum(res.correct)}): no choice among '
                    'the evaluated scales reads more')
            results.append(oracle)
        self._results = results  # for per_image_records()
        self._results_scales = list(self.scales)
        return self._report(results, notes, choices)

    def _warn_of_untrained_scales(self) -> None:
        """As infer.py warns of ``--scale``: a scale without BatchNorm
        statistics of its own reads with the nearest trained one's."""
        from dld.models.recognizers.text_recognizer import untrained_scale_warning
        for scale in self.scales:
            warning = untrained_scale_warning(self.model.student, self.base_size, scale,
                                              f'--scales {scale:g}')
            if warning:
                print_log(warning, logger='current', level=logging.WARNING)

    def scales_not_candidates(self) -> List[float]:
        """The scales this report reads that the selector cannot choose, descending."""
        return sorted(set(self.scales) - {float(s) for s in self.model.scales}, reverse=True)

    def candidates_left_out(self) -> List[float]:
        """The distiller's candidate scales this report does not read, descending."""
        return sorted({float(s) for s in self.model.scales} - set(self.scales), reverse=True)

    def _oracle(self, fixed: Dict[float, MethodResult], params: int,
                num_correct: Optional[int] = None, method: str = 'oracle',
                name: str = 'Oracle selector') -> MethodResult:
        """Per image, the smallest scale at which the student is right, else the
        smallest; with ``num_correct``, the cheapest choice that reads that many
        right (see :func:`oracle_choice`): a selector's FLOPs are judged against
        this at *equal accuracy*."""
        ascending = sorted(fixed)
        n = fixed[ascending[0]].num_images
        cost = np.asarray([self.costs.student_flops_at(s) for s in ascending])
        right = np.asarray([fixed[s].correct for s in ascending],
                           dtype=bool).T.reshape(n, len(ascending))
        chosen = oracle_choice(right, cost, num_correct)
        correct = right[np.arange(n), chosen].tolist()
        prefixes = fixed[ascending[0]].prefixes
        plate = prefixes['plate']
        return MethodResult(method, name, None,
                            {f'{plate}/accuracy': sum(correct) / n if n else 0.0,
                             f'{plate}/num_samples': n, f'{plate}/num_correct': sum(correct)},
                            gflops=float(cost[chosen].mean()) / 1e9 if n else 0.0,
                            params=params, images_per_s=None, num_images=n,
                            correct=correct, scales=[ascending[i] for i in chosen],
                            tracks=fixed[ascending[0]].tracks,
                            images=fixed[ascending[0]].images, prefixes=prefixes)

    def _report(self, results: List[MethodResult], notes: List[str],
                choices: Optional[dict] = None) -> dict:
        from dld.utils.flops import count_inference_params, count_params, scale_input_shapes
        teacher_gflops = self.costs.teacher_flops / 1e9
        shapes = dict(zip(self.scales, scale_input_shapes(self.base_size, self.scales)))
        per_scale = [dict(scale=s, input_size=list(shapes[s]),
                          student_gflops=self.costs.student_flops_at(s) / 1e9,
                          with_selector_gflops=self.costs.gflops_at(s, with_selector=True)
                          if self.has_selector else None) for s in self.scales]
        m = self.model
        candidates = sorted({float(s) for s in m.scales}, reverse=True)
        # keyed by the scales each row can choose: the selector's candidates,
        # the oracle's evaluated scales
        hist = {r.method: scale_histogram(r.scales, candidates if r.method in SELECTOR_METHODS
                                          else self.scales)
                for r in results if r.method in HISTOGRAM_METHODS}
        from dld.utils.flops import flop_counter
        return dict(
            convention=convention(),
            flop_counter=flop_counter(),
            device=str(self.device) + (f' ({torch.cuda.get_device_name(self.device)})'
                                       if self.device.type == 'cuda' else ''),
            precision=str(self.amp_dtype or torch.float32).replace('torch.', ''),
            num_images=self.data.num_images,
            base_size=list(self.base_size),
            scales=self.scales,
            # The oracle rows choose among `scales`; the selector among these.
            candidate_scales=candidates,
            teacher_gflops=teacher_gflops,
            selector_gflops=self.costs.selector_flops / 1e9,
            # Training-only heads left out, as from the FLOPs.
            params=dict(teacher=count_inference_params(m.teacher),
                        student=count_inference_params(m.student),
                        selector=count_params(m.selector) if m.selector is not None else 0,
                        baseline=(count_inference_params(self.baseline) if self.baseline
                                  else None)),
            per_scale=per_scale,
            decoding=dict(student=decoding_of(m.student), teacher=decoding_of(m.teacher),
                          baseline=decoding_of(self.baseline) if self.baseline else None),
            baseline_name=self.baseline_name,
            # what the config's metrics call their keys (PlateRecogMetric(prefix='word'))
            metric_prefixes=dict(results[0].prefixes) if results else dict(DEFAULT_PREFIXES),
            methods=[r.row(teacher_gflops) for r in results],
            scale_histogram=hist,
            # the selector's choices against the oracle's and against blind choices
            selector_choices=choices,
            inputs=copy.deepcopy(self.paths),
            # the prediction options read with (selector_bias, reread): a
            # Config set from Python has no --cfg-options to say them
            test_cfg=json.loads(json.dumps(getattr(m, 'test_cfg', None) or {}, default=str)),
            # the checkpoint's epoch, its run's schedule and last checkpoint
            training=dict(self.training),
            environment=run_environment(),
            notes=notes,
            # ops counted as 0 (a part of one's own): its figures are lower bounds
            uncounted_ops=sorted(self.costs.uncounted_ops | (
                self._baseline_costs.uncounted_ops if self._baseline_costs else set())),
            # each row's right or wrong per image, for paired tests after the
            # fact (tools/analysis/compare_reports.py); last: long lines
            per_image=self.per_image(results),
        )


#: checkpoint_training's ``meta`` not given: read from the file
MISSING_META = object()


def checkpoint_training(checkpoint: str, meta: Optional[dict] = MISSING_META) -> dict:
    """Where ``checkpoint`` stands in its training run: its ``epoch`` and
    ``iter``, the run's ``max_epochs`` (its saved config's), the epoch of
    the last checkpoint of the folder it is in (``run_last_epoch``, from its
    ``last_checkpoint``), ``finished``: whether that reached ``max_epochs``
    (None where any of it is not known: an extracted student elsewhere).
    Why: a sweep's run killed half-way left a ``best.pth`` whose report read
    like a finished run's.

    ``meta`` is the checkpoint's ``meta`` (a model of :func:`init_model` keeps
    it as ``checkpoint_meta``); left out, it is read from the file."""
    from dld.apis.trained_config import trained_setting
    from dld.engine.checkpoint import read_checkpoint_pointer
    if isinstance(checkpoint, os.PathLike):
        checkpoint = os.fspath(checkpoint)  # a pathlib.Path read as no file: all None
    if meta is MISSING_META:
        from .model_loading import read_checkpoint
        meta = read_checkpoint(checkpoint).get('meta')
    meta = meta if isinstance(meta, dict) else {}
    info = dict(epoch=meta.get('epoch'), iter=meta.get('iter'),
                max_epochs=trained_setting(meta, 'train_cfg', 'max_epochs'),
                run_last_epoch=None, finished=None)
    if not isinstance(checkpoint, str) or not osp.isfile(checkpoint):
        return info
    pointer = osp.join(osp.dirname(osp.realpath(checkpoint)), 'last_checkpoint')
    try:
        last = osp.basename(read_checkpoint_pointer(pointer))
    except OSError:
        return info
    match = re.fullmatch(r'epoch_(\d+)\.pth', last)
    if match:
        info['run_last_epoch'] = int(match.group(1))
    if isinstance(info['max_epochs'], int) and info['run_last_epoch'] is not None:
        info['finished'] = info['run_last_epoch'] >= info['max_epochs'] or \
            _early_stopped_at(osp.dirname(pointer)) == info['run_last_epoch']
    return info


def _early_stopped_at(folder: str) -> Optional[int]:
    """The epoch DLD's EarlyStoppingHook ended the run of ``folder`` at
    (its default record), else None: such a run is finished, and --resume
    of it stops at once."""
    import json

    from dld.engine.hooks.early_stopping_hook import RECORD
    try:
        with open(osp.join(folder, RECORD), encoding='utf-8') as f:
            record = json.load(f)
        stopped = record.get('stopped_after')
        unit = record.get('unit', 'epoch')  # an IterBasedTrainLoop run's is an iteration
    except (OSError, ValueError, AttributeError):
        return None
    return stopped if isinstance(stopped, int) and unit == 'epoch' else None


def unfinished_note(training: dict) -> str:
    return (f"the checkpoint's training run has not finished: the last checkpoint of its "
            f"folder is of epoch {training['run_last_epoch']} of {training['max_epochs']} "
            '(stopped, or still training; --resume goes on)')


#: Below this many test images a report says its differences are within chance.
FEW_IMAGES = 100

#: The rows whose scale is chosen per image, counted in ``scale_histogram``.
HISTOGRAM_METHODS = ('dld_selector', 'dld_reread', 'oracle', 'oracle_matched',
                     'oracle_matched_reread')
#: Of those, the rows of the selector, which chooses among its candidates.
SELECTOR_METHODS = ('dld_selector', 'dld_reread')


def scale_histogram(chosen: Sequence[float], scales: Sequence[float]) -> Dict[str, int]:
    """How many images were read at each scale, keyed ``f'{s:g}'``, descending.

    Every scale of ``scales`` (those the row can choose: the selector's
    candidates, the oracle's evaluated scales) gets a key, 0 when never
    chosen, and so does every scale actually chosen, so that the counts add
    up to the images.
    """
    keys = sorted({float(s) for s in scales} | {float(s) for s in chosen}, reverse=True)
    counts = {f'{s:g}': 0 for s in keys}
    for s in chosen:
        counts[f'{float(s):g}'] += 1
    return counts


def _fixed(recognizer: nn.Module, scale: float, base_size) -> Callable:
    def predict(x, samples):
        samples = predict_at_scale(recognizer, x, samples, scale, base_size)
        for ds in samples:
            ds.set_field(float(scale), 'pred_scale', field_type='data')
        return samples
    return predict


def _const(flops: int) -> Callable:
    return lambda ds: flops


def _absolute_where(where: str) -> str:
    """A ``'file:line'`` annotation with its file absolute, as infer.py
    names it (it reads a label file by its absolute path)."""
    path, sep, line = where.rpartition(':')
    return f'{osp.abspath(path)}:{line}' if sep and line.isdigit() else where


def _absolute_roots(sources: List[dict]) -> List[dict]:
    """``sources`` with their data roots absolute where they are here."""
    return [dict(s, data_root=osp.abspath(s['data_root'])
                 if isinstance(s.get('data_root'), str) and osp.exists(s['data_root'])
                 else s.get('data_root')) for s in sources]
