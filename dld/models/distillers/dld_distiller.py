"""Dynamic Low-Resolution Distillation: frozen HR teacher, LR student, selector."""
import copy
import inspect
import logging
import math
import numbers
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel

from dld.models.connectors import resize_content_steps
from dld.models.data_preprocessors.plate_data_preprocessor import (
    channels_last_hint,
    check_model_channels,
)
from dld.models.decoders import pad_memories
from dld.models.losses.functional import estimate_unread_scores, topk_sequence_kl
from dld.models.losses.functional.weights import check_weight
from dld.registry import MODELS
from dld.structures import PlateDataSample
from dld.utils.flags import check_flag
from dld.utils.flops import scale_input_shapes

from .distiller_checks import (
    HR_SIZE_REASON,
    LOSS_CALLS,
    InputSizeError,
    PartContractError,
    check_aux_decoder,
    check_choices,
    check_distinct_sizes,
    check_keys,
    check_loss_call,
    check_reread,
    check_same_characters,
    check_same_steps,
    check_scales_range,
    check_selector_bias,
    check_task_loss_settings,
    warn_of_force_scale,
)
from .extra_terms import build_extra_terms, build_role_loss, extra_term_inputs
from .feature_connectors import CONNECTOR_KINDS, build_connectors
from .scale_costs import ScaleCosts
from .sequence_plan import SequencePlan
from .teacher_checkpoint import (
    UntrainedTeacherError,
    link_target,
    load_teacher_weights,
    untrained_teacher_message,
)

#: ``cost='scale_pow'``'s exponent (the public code's).
DEFAULT_COST_POWER = 1.5

@MODELS.register_module()
class DLDDistiller(BaseModel):
    """Trains an LR student and its Dynamic Resolution Selector from a frozen HR teacher.

    The teacher reads ``inputs_hr``; the student reads ``inputs`` (the LR
    stream at the student's base size) resized to each candidate scale inside
    the model, so one data pipeline serves every scale. Evaluation and
    prediction run only the selector and the student.

    A trained LR student may teach the next one instead (``teacher_input='lr'``,
    ``teacher_from='student'``): when the HR teacher's knowledge is about
    detail the LR frames have lost, a teacher that has read LR frames knows
    which readings of a blurred plate are likely (docs/method.md).

    Args:
        teacher (dict): config of the teacher :class:`TextRecognizer`.
        student (dict): config of the student (same family; widths may differ).
        teacher_ckpt (str, optional): the trained teacher. Required to
            train; may be None when building for inference from a DLD or
            extracted checkpoint, which carry their own weights.
        selector (dict, optional): :class:`ResolutionSelector` config; None
            distils at ``fixed_scale`` with no selector.
        scales (Sequence[float]): candidate scales of ``base_size``.
        base_size (tuple[int, int]): (H, W) of the teacher's input, which
            scale 1.0 of the student reads too.
        fixed_scale (float, optional): the single scale used when there is
            no selector (and the scale predict uses by default then).
        scale_strategy (str): which scales the student runs at each step.
            ``'all'``: every scale, for every image (the paper; k student
            forwards per image). ``'sampled'``: the selected scale plus one
            other drawn uniformly (two forwards per image); the selector's
            gradient then reaches only those two scales.
        selector_score (str): what the selector's accuracy term measures at
            each scale. ``'kl'`` (paper): KL(teacher || student) over the
            teacher's top-k sequences. ``'gt_nll'`` (public code): the
            student's negative log-likelihood of the ground truth, per
            character as the task loss (its end token included, divided by
            the label's length), so long and short plates weigh alike
            against ``gamma`` times the FLOPs.
            ``'top1_miss'``: 0 where the student gives the teacher's top
            sequence a probability above 1/2 (it is then the student's most
            likely reading: it reads the plate as the teacher does), else 1.
            The KL also charges a right but less confident reading, which
            keeps the selector on large scales; this score charges only a
            different reading, the quantity accuracy counts.
        selector_decisions (str): how the selector's loss weighs the scales.
            ``'gumbel'`` (paper): a straight-through Gumbel-softmax sample,
            one-hot forward, soft gradient. ``'expected'``: the selector's
            softmax probabilities, so the loss is the exact expected
            KL + gamma x FLOPs over its choice, with no sampling noise; it
            needs every scale's score, i.e. ``scale_strategy='all'`` (the
            selector stage, where it is the lower-variance estimator).
        cost (str): ``'flops'`` (paper): T_i/T_teacher with T_i measured by
            ``count_flops`` at build time. ``'scale_pow'`` (public code): s_i**power.
        cost_power (float): exponent of ``'scale_pow'``.
        skd_topk (int): teacher beams distilled by SKD.
        skd_beam_width (int, optional): teacher beam width (>= topk).
        init_student_from_teacher (bool): copy the teacher's weights into the
            student when the architectures match (the paper's choice).
        student_scale_norm (bool): give the student one set of BatchNorm
            statistics per candidate scale (``TextRecognizer.scale_norm``),
            unless its config sets its own. Shared statistics fit no scale:
            see :mod:`dld.models.layers.scale_batch_norm`.
        train_student (bool): False freezes the student (and the connectors)
            in eval mode and trains the selector alone: the selector stage
            of ``configs/dld_plate_hr_selector.py``. In joint training the
            selector scores scales by the KL of a student in train mode
            (dropout, batch statistics, a moving target); once the student
            has converged, its eval-mode KL is what deployment will see.
            The student's distillation terms are then skipped (they would
            train nothing) while its losses stay configured, so the
            connectors are loaded and saved: a later student stage starts
            from them.
        train_selector (bool): False freezes the selector and trains the
            student alone, at scales drawn uniformly per image (two distinct
            ones with ``'sampled'``), whatever the selector would pick: the
            student stage of ``configs/dld_plate_hr.py``, before its selector
            stage. Joint training lets the selector's early preference for
            large scales decide which scales the student practises, which
            starves the small ones (docs/results.md).
        student_stage_scales (str): in the student stage
            (``train_selector=False``), which scale each image is read at
            first: ``'uniform'`` (drawn uniformly) or ``'selector'`` (the
            frozen selector's choice, so the student practises most the
            scales it will be sent; with ``'sampled'`` the second scale is
            still drawn uniformly, so every scale keeps being learned).
        teacher_input (str): the stream the teacher reads: ``'hr'`` (the
            paper: ``inputs_hr``) or ``'lr'`` (the student's ``inputs``), for
            a teacher trained on LR frames.
        teacher_scale (float): the scale of ``base_size`` the teacher reads
            its stream at; 1.0 but for an LR teacher that reads best smaller.
        teacher_from (str): which recognizer of a DLD checkpoint
            ``teacher_ckpt`` becomes the teacher: ``'teacher'`` (its HR
            teacher) or ``'student'`` (a trained student: a born-again
            teacher; its config needs the student's ``scale_norm``). With
            ``'teacher'`` a plain recognizer checkpoint is loaded as it is;
            ``'student'`` needs a DLD checkpoint. With
            ``'student'`` the distiller keeps this teacher when a state dict
            is loaded later (``load_from``, resume), which would otherwise
            put the checkpoint's own HR teacher back.
        teacher_gate (str): on which images the losses on the teacher's
            outputs (SKD, logit KD) count: ``'none'`` (all) or
            ``'top1_right'`` (those whose teacher's top beam is the ground
            truth; elsewhere they are 0, and the task loss alone teaches).
            An HR teacher reads nearly every plate, so the gate matters for
            a teacher that misreads many, e.g. a born-again LR teacher.
        teacher_norm_eval (bool): keep the teacher in eval mode. False
            reproduces reference 000, whose teacher BatchNorm layers run in
            train mode (under no_grad), so its running statistics drift with
            every step: the "fixed" teacher is then not fixed. The rest of
            the teacher (its dropout) stays in eval mode either way.
        student_scale_weighting (str): how the student's losses at the
            computed scales are combined per image: ``'uniform'`` (mean over
            computed scales: the student learns every scale the selector may
            pick) or ``'selected'`` (only the selected scale).
        losses (dict): loss configs keyed by role; absent roles are off:
            ``skd`` (SequenceKDLoss), ``feature`` (FeatureDistanceLoss,
            applied to backbone maps, encoder states and decoder hidden
            states with weights ``feature_levels``), ``logit`` (KLDivLoss,
            DMLLoss or DKDLoss on per-step logits), ``selector``
            (ResolutionSelectorLoss), and ``extra``: terms of one's own by
            name, ``dict(at=dict(type=...))``, each called with the
            student's and the teacher's outputs (:func:`extra_term_inputs`)
            and logged as ``loss_<name>``. The task loss is the student
            decoder's own; a student with a training-only CTC head
            (``TextRecognizer.aux_decoder``) adds its loss as ``loss_aux``,
            weighed per image and scale like the task loss.
        unalignable_nll (float): the NLL (with zero gradient) of a target a
            CTC student cannot emit at a scale whose feature sequence is too
            short for it; large, so the selector learns to avoid that scale.
        feature_levels (dict): weight of each feature level in the feature
            loss: ``backbone``, ``encoder``, ``decoder`` (any other key is an
            error). ``decoder`` weighs the attention decoder's hidden states;
            a CTC decoder has none, so it has no effect there.
        connectors (dict, optional): per feature level (``backbone``,
            ``encoder``, ``decoder``), config merged onto that level's
            connector, which adapts the student's features to the teacher's
            before the feature loss: ``FeatureMapConnector`` (a learned 1x1
            conv, then a resize) for maps, ``SequenceConnector`` (linear,
            then a resize along time) for sequences. E.g.
            ``dict(backbone=dict(with_bn=True))``, ``learned=False`` for a
            loss that wants the student's own features (equal widths), or
            another registered ``type`` taking the same width arguments
            (``in_channels``/``out_channels``, ``in_dim``/``out_dim``) and
            ``forward``. Any other key is an error.
        test_cfg (dict, optional): prediction options (any other key is an
            error; the student's decoding is its own ``test_cfg``). ``force_scale``: read
            every image at this scale (selector not run). ``selector_bias``: one
            number per candidate scale (``scales`` order) added to the
            selector's logits at inference, not in training: a positive bias
            sends more images to that scale, so a trained selector is moved
            along the accuracy-FLOPs curve without retraining
            (``tools/calibrate_reread.py --selector-bias`` picks it for a
            FLOPs budget). ``reread``: a
            confidence-gated cascade over the selector's choice,
            ``dict(min_score=p, scales=[...])``: an image whose reading has
            a sequence probability below ``p`` is read again at each larger
            scale of ``scales`` in turn (candidate scales, ascending) until
            a reading reaches ``p``; the last reading is kept and every read
            is paid for. Why: the selector sees a thumbnail, but the
            student's own confidence after a cheap read is what tells a
            misread plate (docs/results.md); ``tools/calibrate_reread.py``
            picks ``p`` on the validation split for a FLOPs budget.
    """

    def __init__(self,
                 teacher: dict,
                 student: dict,
                 teacher_ckpt: Optional[str] = None,
                 selector: Optional[dict] = None,
                 scales: Sequence[float] = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3),
                 base_size: Tuple[int, int] = (48, 144),
                 fixed_scale: Optional[float] = None,
                 scale_strategy: str = 'all',
                 selector_score: str = 'kl',
                 selector_decisions: str = 'gumbel',
                 cost: str = 'flops',
                 cost_power: float = DEFAULT_COST_POWER,
                 skd_topk: int = 3,
                 skd_beam_width: Optional[int] = None,
                 init_student_from_teacher: bool = True,
                 student_scale_norm: bool = True,
                 train_student: bool = True,
                 train_selector: bool = True,
                 student_stage_scales: str = 'uniform',
                 teacher_norm_eval: bool = True,
                 teacher_input: str = 'hr',
                 teacher_scale: float = 1.0,
                 teacher_from: str = 'teacher',
                 teacher_gate: str = 'none',
                 student_scale_weighting: str = 'uniform',
                 unalignable_nll: float = 30.0,
                 losses: Optional[dict] = None,
                 feature_levels: Optional[dict] = None,
                 connectors: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor_cfg = data_preprocessor if isinstance(data_preprocessor, dict) else None
        if isinstance(data_preprocessor, dict):
            # Built here, in DLD's registry, so no default scope is needed.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        init_student_from_teacher = check_flag(init_student_from_teacher,
                                               'model.init_student_from_teacher')
        student_scale_norm = check_flag(student_scale_norm, 'model.student_scale_norm')
        train_student = check_flag(train_student, 'model.train_student')
        train_selector = check_flag(train_selector, 'model.train_selector')
        teacher_norm_eval = check_flag(teacher_norm_eval, 'model.teacher_norm_eval')
        check_choices(scale_strategy=scale_strategy, selector_score=selector_score,
                      selector_decisions=selector_decisions)
        if selector_decisions == 'expected' and scale_strategy != 'all':
            raise ValueError("selector_decisions='expected' weighs every scale's score: "
                             "it needs scale_strategy='all'.")
        check_choices(cost=cost, student_scale_weighting=student_scale_weighting,
                      student_stage_scales=student_stage_scales, teacher_input=teacher_input,
                      teacher_from=teacher_from, teacher_gate=teacher_gate)
        self.teacher_gate = teacher_gate
        check_scales_range([float(teacher_scale)], 'teacher_scale')
        self.teacher_input = teacher_input
        self.teacher_scale = float(teacher_scale)
        self.teacher_from = teacher_from
        if not (isinstance(base_size, (tuple, list)) and len(base_size) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in base_size)):
            # (0, 144) was "math domain error", naming nothing
            raise ValueError(f'model.base_size must be (H, W) of two whole numbers > 0 (the '
                             f"teacher's input size), got {base_size!r}")
        self.base_size = tuple(base_size)
        if selector is None:
            if fixed_scale is None:
                raise ValueError('Without a selector, set `model.fixed_scale`.')
            self.scales = [float(fixed_scale)]
        else:
            if fixed_scale is not None:
                # Read only without a selector: beside one it changed nothing.
                raise ValueError(
                    f'fixed_scale={fixed_scale} is the one scale of a run without a selector '
                    '(selector=None); with a selector it would be ignored. To read every '
                    'test image at one scale, set model.test_cfg.force_scale.')
            self.scales = _scales_of(scales)
        check_scales_range(self.scales, 'fixed_scale' if selector is None else 'scales')
        check_distinct_sizes(self.scales, self.base_size)
        self.teacher = MODELS.build(teacher)
        # what the teacher's checkpoint is compared with (its shape-free settings)
        self._teacher_described = (dict(teacher, data_preprocessor=data_preprocessor_cfg)
                                   if isinstance(teacher, dict) else None)
        if student_scale_norm and len(self.scales) > 1 and not student.get('scale_norm'):
            student = dict(student, scale_norm=dict(scales=self.scales, base_size=self.base_size))
        # What a recognizer of the student's architecture is built from
        # (per-scale BatchNorm included), e.g. a no-KD baseline read beside it.
        self.student_cfg = copy.deepcopy(student)
        self.student = MODELS.build(student)
        check_aux_decoder(self.student)
        check_task_loss_settings(self.student)
        channels = {name: _in_channels(cfg, getattr(model, 'backbone', None)) for name, cfg, model
                    in (('teacher', teacher, self.teacher), ('student', student, self.student))}
        if channels['teacher'] != channels['student']:
            raise ValueError(
                f"The teacher reads {channels['teacher']} channel(s) and the student "
                f"{channels['student']} (model.teacher.backbone.in_channels="
                f"{channels['teacher']}, model.student.backbone.in_channels="
                f"{channels['student']}): one data preprocessor feeds "
                'both streams, so they read images of the same channels. A grey student of '
                'a colour teacher: keep the student at 3 channels (channels=3 repeats a grey '
                'image: about 1 % more FLOPs in the shipped student), or train the '
                'teacher on grey (model.data_preprocessor.channels=1 and '
                'model.teacher.backbone.in_channels=1, docs/datasets.md)')
        check_model_channels(self.data_preprocessor, channels['student'],
                             ('model.teacher.backbone.in_channels',
                              'model.student.backbone.in_channels'))
        check_same_characters(self.teacher, self.student)
        check_same_steps(self.teacher, self.student)
        if selector is not None and selector.get('scales') is not None and \
                _scales_of(selector['scales'], 'model.selector.scales') != self.scales:
            # it was replaced by model.scales without a word
            raise ValueError(
                f"model.selector.scales={tuple(selector['scales'])} differs from model.scales="
                f'{tuple(self.scales)}: the selector picks among the distiller\'s scales, which '
                'it is given; set model.scales, and leave the selector\'s out')
        if selector is not None:
            _check_selector_takes_scales(selector)
        self.selector = None if selector is None else MODELS.build(
            _with_in_channels(dict(selector, scales=self.scales), channels['student']))
        if selector is not None and len(self.scales) == 1:
            # it trained and ran a selector with nothing to choose, silently
            print_log(f'model.scales holds one scale ({self.scales[0]:g}): the selector has '
                      'nothing to choose and only adds its cost; for one scale set '
                      f'model.selector=None, model.fixed_scale={self.scales[0]:g}',
                      logger='current', level=logging.WARNING)
        self.fixed_scale = fixed_scale
        self.scale_strategy = scale_strategy
        self.selector_score = selector_score
        self.selector_decisions = selector_decisions
        for name, value in (('skd_topk', skd_topk), ('skd_beam_width', skd_beam_width)):
            # skd_topk=None was "'<' not supported between NoneType and int"
            if (value is not None or name == 'skd_topk') and (
                    isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f'{name} must be an integer, got {value!r}')
        self.skd_topk = skd_topk
        # 0 was taken as "not set" (the default width), silently
        self.skd_beam_width = max(skd_topk, 3) if skd_beam_width is None else skd_beam_width
        if self.skd_topk < 1 or self.skd_beam_width < self.skd_topk:
            raise ValueError(f'skd_beam_width ({self.skd_beam_width}) must be >= skd_topk '
                             f'({self.skd_topk}) >= 1: a beam search keeps no more '
                             'sequences than its width.')
        self.teacher_norm_eval = teacher_norm_eval
        self.student_scale_weighting = student_scale_weighting
        # negative, a sequence the student cannot align would be a reward
        self.unalignable_nll = check_weight(unalignable_nll, 'model.unalignable_nll')
        self.test_cfg = dict(test_cfg or {})
        check_keys('test_cfg', self.test_cfg, ('force_scale', 'reread', 'selector_bias'),
                    " (the student's decoding is the student config's test_cfg)")
        check_reread(self.test_cfg.get('reread'), self.scales)
        check_selector_bias(self.test_cfg.get('selector_bias'), self.scales,
                            self.selector is not None)
        warn_of_force_scale(self.test_cfg, self.student, self.base_size)

        losses = dict(losses or {})
        unknown = set(losses) - {'skd', 'feature', 'logit', 'selector', 'extra'}
        if unknown:
            from dld.utils.close_names import did_you_mean
            close = [(role, did_you_mean(role, LOSS_CALLS)) for role in sorted(unknown)]
            raise ValueError(f'model.losses: unknown loss role(s) {sorted(unknown)}; the roles '
                             'are skd, feature, logit, selector and extra (terms of '
                             'your own by name)' +
                             ''.join(f'; {role!r}: {c}' if len(unknown) > 1 else f'; {c}'
                                     for role, c in close if c))
        self.skd_loss = build_role_loss('skd', losses.get('skd'))
        self.feature_loss = build_role_loss('feature', losses.get('feature'))
        self.logit_loss = build_role_loss('logit', losses.get('logit'))
        self.selector_loss = build_role_loss('selector', losses.get('selector'))
        self.extra_losses = build_extra_terms(losses.get('extra'))
        for role in ('skd', 'logit', 'selector'):  # the feature loss's once its levels are known
            check_loss_call(role, getattr(self, f'{role}_loss'))
        if self.logit_loss is not None and (
                self.student.decoder.logits_per_frame != self.teacher.decoder.logits_per_frame):
            kinds = {True: 'one per frame (CTC)', False: 'one per character (attention)'}
            raise ValueError(
                'model.losses.logit compares the decoders\' distributions step by step, but '
                f'the teacher\'s are {kinds[self.teacher.decoder.logits_per_frame]} and the '
                f'student\'s {kinds[self.student.decoder.logits_per_frame]}: their steps are '
                'not the same, nor is their last class (<EOS> in one, <BLK> in the other). '
                'Across decoder families, distil with SKD (losses.skd) and features; set '
                'model.losses.logit=None.')
        if self.selector is None and self.selector_loss is not None:
            print_log('model.losses.selector is not read without a selector (selector=None); '
                      'set model.losses.selector=None.', logger='current',
                      level=logging.WARNING)
        if self.selector is not None and train_selector and self.selector_loss is None:
            raise ValueError('A selector needs `model.losses.selector` to be trained (or '
                             'model.train_selector=False, the student stage, to keep it '
                             'frozen).')
        if getattr(self.selector_loss, 'flops_on_uncomputed', False):
            raise ValueError('losses.selector.flops_on_uncomputed has no effect here: the '
                             'distiller scores every scale (estimate_unread_scores) and '
                             'charges every scale its cost; leave it out.')
        self.feature_levels = dict(backbone=1.0, encoder=1.0, decoder=1.0)
        for name, value in (('feature_levels', feature_levels), ('connectors', connectors)):
            if value is not None and not isinstance(value, dict):
                # a list was "'list' object has no attribute 'items'"
                raise TypeError(f'model.{name} is a dict by feature level (backbone, encoder, '
                                f'decoder), got {value!r}')
        check_keys('feature_levels', feature_levels or {}, tuple(self.feature_levels))
        # a negative weight rewarded the distance (loss_feature -2.25, silently);
        # a string failed in the first step with a traceback
        self.feature_levels.update({level: check_weight(weight, f'model.feature_levels.{level}')
                                    for level, weight in (feature_levels or {}).items()})
        check_keys('connectors', connectors or {}, tuple(CONNECTOR_KINDS))
        self.connector_cfgs = {level: dict(cfg) for level, cfg in (connectors or {}).items()}
        self.connectors = build_connectors(self.student, self.teacher, self.base_size,
                                           self.connector_cfgs) if self.feature_loss else None
        unread = sorted(set(self.connector_cfgs) - set(self.connectors or {}))
        if unread:
            # it was ignored without a word (a CTC decoder has no hidden states)
            why = ('model.losses.feature is None' if self.feature_loss is None else
                   'a CTC decoder (teacher or student) has no hidden states')
            print_log(f"model.connectors sets {', '.join(unread)}, which is not read: {why}; "
                      'leave it out.', logger='current', level=logging.WARNING)
        if (self.connectors is not None and 'decoder' not in self.connectors
                and self.feature_levels['decoder'] > 0
                and not any(self.feature_levels[k] > 0 for k in self.connectors)):
            print_log('model.feature_levels weighs only the decoder level, which this pair has '
                      'not (a CTC decoder has no hidden states): the feature loss is 0; weigh '
                      'the backbone or encoder level, or set model.losses.feature=None.',
                      logger='current', level=logging.WARNING)
        # mask= is passed at the decoder level only (both decoders attention)
        check_loss_call('feature', self.feature_loss,
                        with_mask='decoder' in (self.connectors or {}))

        self._parts_from_teacher: List[str] = []  # copied one by one, by name
        self.student_from_teacher = False  # any of its weights copied from the teacher's
        self.register_buffer('teacher_loaded', torch.tensor(False))
        self.keep_teacher_on_load = False  # set for load_from by the start check
        self._register_load_state_dict_pre_hook(self._teacher_loaded_only_with_teacher)
        self._register_load_state_dict_pre_hook(self._keep_built_teacher)
        # the start check's keep_teacher_on_load is for the load it checked only
        self.register_load_state_dict_post_hook(self._teacher_kept_once)
        if teacher_ckpt is not None:
            self._load_teacher(teacher_ckpt)
            if init_student_from_teacher:
                self._init_student_from_teacher()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.train_student = train_student
        self.train_selector = train_selector and self.selector is not None
        if student_stage_scales == 'selector' and (self.selector is None or
                                                   self.train_selector):
            raise ValueError("student_stage_scales='selector' reads each image first at "
                             'the scale a frozen selector picks: it needs a selector and '
                             'train_selector=False.')
        self.student_stage_scales = student_stage_scales
        frozen = []
        if not train_student:
            if self.selector is None:
                raise ValueError('train_student=False trains the selector alone: it needs '
                                 'a selector.')
            if not train_selector:
                raise ValueError('train_student=False and train_selector=False train '
                                 'nothing.')
            frozen += [self.student, self.extra_losses] + (
                [self.connectors] if self.connectors else [])
        if self.selector is not None and not train_selector:
            frozen.append(self.selector)
        for p in (p for m in frozen for p in m.parameters()):
            p.requires_grad_(False)
        self.train(True)

        self.costs = ScaleCosts.measure(
            self.student, self.teacher, self.selector, self.scales, self.base_size,
            in_channels=channels['student'])
        self._check_selector_output(channels['student'])
        if cost == 'flops' and cost_power != DEFAULT_COST_POWER:
            print_log(f"cost_power={cost_power} is the exponent of cost='scale_pow'; with "
                      "cost='flops' (this config's) it is not read.", logger='current',
                      level=logging.WARNING)
        if cost != 'flops' and (isinstance(cost_power, bool) or not isinstance(
                cost_power, numbers.Real) or not cost_power > 0):
            # 0 charges every scale alike; below, the smaller ones cost more
            raise ValueError(f"model.cost_power must be a number > 0 (a scale's cost is "
                             f'scale ** cost_power), got {cost_power!r}')
        rel = (self.costs.relative_flops() if cost == 'flops'
               else torch.tensor([s**cost_power for s in self.scales]))
        self.register_buffer('relative_cost', rel.float(), persistent=False)

    # ------------------------------------------------------------------ build
    def _load_teacher(self, path: str) -> None:
        reads = scale_input_shapes(self.base_size, [self.teacher_scale])[0]
        path = load_teacher_weights(self.teacher, path, take=self.teacher_from, reads=reads,
                                    stream=self.teacher_input,
                                    described=getattr(self, '_teacher_described', None))
        self.teacher_loaded.fill_(True)
        # MMEngine's runner calls init_weights() before training: a recognizer
        # config with an init_cfg would re-initialise the trained teacher.
        self.teacher._is_init = True
        source = 'the student of ' if self.teacher_from == 'student' else ''
        print_log(f'Loaded the teacher from {source}{path}{link_target(path)}', logger='current')

    @property
    def student_aux_decoder(self) -> Optional[nn.Module]:
        """The student's training-only head (``TextRecognizer.aux_decoder``),
        or None, also for a student class that has no such attribute."""
        return getattr(self.student, 'aux_decoder', None)

    @property
    def born_again_teacher(self) -> bool:
        """Whether the teacher is a trained student or reads the LR stream:
        then it is not the HR teacher that reports compare against."""
        return self.teacher_from == 'student' or self.teacher_input != 'hr'

    def _teacher_loaded_only_with_teacher(self, state_dict, prefix, *args) -> None:
        """A state dict's ``teacher_loaded`` counts only when it holds the
        teacher's weights too. A checkpoint without them (the student and
        selector that ``tools/extract_student.py`` keeps) would otherwise mark
        a teacher built without ``teacher_ckpt`` as trained, and training
        would distil from random weights instead of asking for the teacher."""
        key = f'{prefix}teacher_loaded'
        if key in state_dict and not any(k.startswith(f'{prefix}teacher.') for k in state_dict):
            state_dict[key] = self.teacher_loaded.clone()

    def _keep_built_teacher(self, state_dict, prefix, *args) -> None:
        """Puts this teacher's weights into a state dict being loaded when the
        teacher was loaded at build and must stay: a student loaded as the
        teacher (``teacher_from='student'``: the checkpoint the run starts
        from holds its HR teacher under ``teacher.*``), or any teacher of
        ``teacher_ckpt`` where a run starts from a DLD checkpoint with
        ``load_from`` (``keep_teacher_on_load``, set by the start check: a
        resumed run keeps the teacher it trained with)."""
        if not bool(self.teacher_loaded) or not (self.teacher_from == 'student'
                                                 or self.keep_teacher_on_load):
            return
        replaced = 0
        for k, v in self.teacher.state_dict().items():
            key = f'{prefix}teacher.{k}'
            # the checkpoint is read onto the CPU, the live teacher may be on CUDA
            replaced += key in state_dict and not torch.equal(state_dict[key].to(v), v)
            state_dict[key] = v
        if replaced:
            taken = ('taken from a student checkpoint' if self.teacher_from == 'student'
                     else 'of model.teacher_ckpt')
            print_log(f'Kept the teacher {taken}: ignored {replaced} other teacher '
                      'weight(s) of the state dict loaded now.', logger='current')

    @staticmethod
    def _teacher_kept_once(module, incompatible_keys) -> None:
        module.keep_teacher_on_load = False

    def _init_student_from_teacher(self) -> None:
        # A training-only head (either side's) is not copied: the student's
        # keeps its own initialisation.
        t_state, s_state = ({k: v for k, v in m.state_dict().items()
                             if not k.startswith('aux_decoder.')}
                            for m in (self.teacher, self.student))

        def fits(k):  # equal, or a BatchNorm statistic the student keeps per scale
            t, s = t_state[k].shape, s_state[k].shape
            return t == s or (len(s) == len(t) + 1 and s[1:] == t)

        if t_state.keys() == s_state.keys() and all(fits(k) for k in t_state):
            aux = self.student_aux_decoder
            self.student.load_state_dict(t_state, strict=aux is None)
            self.student._is_init = True  # kept by init_weights(), as the teacher is
            if aux is not None and hasattr(aux, 'init_weights'):
                # Marked initialised, the student no longer passes init_weights()
                # on to its head, which was not copied: its own init_cfg now.
                aux.init_weights()
            self.student_from_teacher = True
            print_log('Initialised the student from the teacher.', logger='current')
            return
        # A part of the teacher's shape is copied on its own: a CTC student
        # of an attention teacher started from random weights where its
        # backbone and encoder were the teacher's (SKD 68 at the first step).
        copied, kept = self._parts_from_teacher, []
        for name, part in self.student.named_children():
            state = {k.split('.', 1)[1]: v for k, v in t_state.items()
                     if k.startswith(f'{name}.')}
            if not state:  # nothing to copy (the data preprocessor) or the head
                continue
            if state.keys() == {k.split('.', 1)[1] for k in s_state if k.startswith(f'{name}.')} \
                    and all(fits(f'{name}.{k}') for k in state):
                part.load_state_dict(state)
                copied.append(name)
            else:
                kept.append(name)
        if copied:
            self.student_from_teacher = True
            rest = (f"; its {', '.join(kept)} differ(s) in shape and keep(s) their own "
                    'initialisation' if kept else '')
            print_log(f"Initialised the student's {', '.join(copied)} from the teacher's{rest}.",
                      logger='current')
        else:
            print_log('Student and teacher differ in shape: the student keeps '
                      'its own initialisation.', logger='current')

    def init_weights(self) -> None:
        """MMEngine's, then the student's parts copied from the teacher copied
        again: a student ``init_cfg`` applies to its whole tree, those parts
        included (a student copied whole is marked initialised instead)."""
        super().init_weights()
        for name in self._parts_from_teacher:
            getattr(self.student, name).load_state_dict(getattr(self.teacher, name).state_dict())

    def train(self, mode: bool = True) -> 'DLDDistiller':
        """Keeps the teacher in eval mode whatever the caller asks."""
        super().train(mode)
        self.teacher.eval()
        if mode and not self.teacher_norm_eval:
            # reference 000: the teacher's BatchNorm layers, and nothing else
            # of it (not its dropout), run in train mode
            for module in self.teacher.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.train()
        if not self.train_student:
            self.student.eval()
        if self.selector is not None and not self.train_selector:
            self.selector.eval()
        return self

    # ---------------------------------------------------------------- helpers
    def resize(self, inputs: torch.Tensor, scale: float) -> torch.Tensor:
        """(B, C, H, W) at base size -> (B, C, round(s*H), round(s*W))."""
        from dld.models.selectors import resize_to_scale
        return resize_to_scale(inputs, scale, base_hw=self.base_size)

    def teacher_view(self, inputs: torch.Tensor,
                     inputs_hr: Optional[torch.Tensor]) -> torch.Tensor:
        """What the teacher reads: its stream (``teacher_input``) at ``teacher_scale``."""
        x = inputs_hr if self.teacher_input == 'hr' else inputs
        return x if self.teacher_scale == 1.0 else self.resize(x, self.teacher_scale)

    def select(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Decisions (B, k) and chosen scale indices (B,)."""
        b = inputs.shape[0]
        if self.selector is None:
            dec = inputs.new_ones(b, 1)
            return dec, torch.zeros(b, dtype=torch.long, device=inputs.device)
        return self.select_from_logits(self.selector_logits(inputs))

    def select_from_logits(self, logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:meth:`select` of the selector's own logits (:meth:`selector_logits`),
        for a caller that keeps them too (the bias calibration's readings,
        :meth:`predict`, which says the selector's probabilities)."""
        b = logits.shape[0]
        decisions, chosen = self.selector.decide(self._biased(logits))
        k = len(self.scales)
        if (tuple(decisions.shape), tuple(chosen.shape)) != ((b, k), (b, )):
            self._refuse_selector_output(
                b, f'from decide() decisions {tuple(decisions.shape)} and indices '
                f'{tuple(chosen.shape)}')
        return decisions, chosen

    def _biased(self, logits: torch.Tensor) -> torch.Tensor:
        """The logits the selector decides on: with ``test_cfg.selector_bias``
        added at inference (training learns unbiased)."""
        bias = self.test_cfg.get('selector_bias')
        if bias is None or self.training:
            return logits
        # in float32: under AMP a bf16 sum rounded the calibrated bias
        # (-2.97 to -2.96875), and choices near a tie left the replay's
        return logits.float() + torch.as_tensor([float(b) for b in bias], device=logits.device)

    def selector_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The selector's (B, k) logits, one per scale, checked."""
        logits = self.selector(inputs)
        if tuple(logits.shape) != (inputs.shape[0], len(self.scales)):
            self._refuse_selector_output(inputs.shape[0], f'logits {tuple(logits.shape)}')
        return logits

    def _check_selector_output(self, in_channels: int) -> None:
        """The selector's logits and ``decide``'s decisions checked once on
        two blank images as it is built: one of another shape (a custom
        selector's), or a selector without ``decide``, was found at the
        first training step, after the data loaders had started. In eval
        mode, so its BatchNorm statistics are left as they are."""
        if self.selector is None:
            return
        if not callable(getattr(self.selector, 'decide', None)):
            # else an AttributeError at the first training step, after the
            # loaders had started (or the temperature hook's "no tau")
            raise PartContractError(
                f'model.selector ({type(self.selector).__name__}) has no decide(logits, '
                'hard=True) -> (decisions, index): the distiller turns its logits into '
                'one scale per image with it (subclass dld.models.selectors.'
                'ResolutionSelector to keep its Gumbel-softmax decide; docs/customize.md)')
        was_training = self.selector.training
        self.selector.eval()
        try:
            # decide() too; a random one (gumbel_at_test) leaves the seeded state alone
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                self.select(torch.zeros(2, in_channels, *self.base_size))
        finally:
            self.selector.train(was_training)

    def _refuse_selector_output(self, b: int, what: str) -> None:
        """Else an IndexError deep in the loss, naming no selector."""
        k = len(self.scales)
        raise PartContractError(
            f'model.selector ({type(self.selector).__name__}) on {b} image(s) and {k} '
            f'scales {self.scales} gave {what}; a selector gives ({b}, {k}) logits, and '
            f'from decide() ({b}, {k}) decisions and ({b},) indices (docs/customize.md)')

    #: what ``dld.utils.count_flops`` says of this model: it counted what the
    #: tensor forward runs, the selector alone
    forward_is_not_its_cost = (
        "its cost depends on the scale its selector picks for each image, and its tensor "
        "forward runs the selector alone: read model.costs (teacher_flops, selector_flops, "
        "student_flops_at(scale)), as tools/analysis/get_flops.py does, or count "
        "model.student on model.resize(inputs, scale)")

    # ---------------------------------------------------------------- forward
    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor',
                inputs_hr: Optional[torch.Tensor] = None):
        if mode == 'loss':
            return self.loss(inputs, data_samples, inputs_hr)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.select(inputs)[1]
        raise ValueError(f'Invalid mode {mode!r}: expected loss, predict or tensor.')

    def _check_input_size(self, inputs: torch.Tensor) -> None:
        """Scale 1.0 is ``base_size``: inputs of another size would be read
        at scales of the wrong size, and every FLOPs figure be of that size."""
        if tuple(inputs.shape[-2:]) != self.base_size:
            h, w = inputs.shape[-2:]
            if channels_last_hint(inputs):  # not a size to set in the config
                raise InputSizeError(f'DLDDistiller was given inputs of {h}x{w}'
                                     + channels_last_hint(inputs))
            bh, bw = self.base_size
            raise InputSizeError(
                f'DLDDistiller(base_size={self.base_size}) was given inputs of {h}x{w}, the '
                "size the pipeline resizes to (ResizePair's lr_size): a model trained at "
                f'{bh}x{bw} reads inputs of that size, so set the pipeline\'s ResizePair to '
                f'lr_size=({bh}, {bw}) (its training pipeline\'s); to train a model at {h}x{w}, '
                f'set model.base_size=({h}, {w}), so that its scales and FLOPs are of that size.')

    def loss(self, inputs: torch.Tensor, data_samples: List[PlateDataSample],
             inputs_hr: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
        self._check_input_size(inputs)
        if inputs_hr is None and self.teacher_input == 'hr':
            raise ValueError('DLD training needs the HR stream (`inputs_hr`): use a '
                             'pipeline that loads HR frames (PackPlateInputs with HR).')
        if self.teacher_input == 'hr' and tuple(inputs_hr.shape[-2:]) != self.base_size:
            h, w = inputs_hr.shape[-2:]
            raise ValueError(f'The teacher was given HR crops of {h}x{w}, but '
                             f'base_size={self.base_size}: {HR_SIZE_REASON}.')
        if not bool(self.teacher_loaded):
            raise UntrainedTeacherError(untrained_teacher_message(self.teacher_from))
        gt = self.student.encode_targets([ds.gt_text for ds in data_samples])
        ratios = self.student.valid_ratios(data_samples)
        ratios = None if all(r >= 1 for r in ratios) else ratios  # none padded
        teacher = self._run_teacher(self.teacher_view(inputs, inputs_hr), gt,
                                    ratios if self.teacher_input == 'lr' else None)
        teacher['content_ratio'] = self._content_ratio(inputs, ratios)

        logits = None
        if self.train_selector:  # (a selector built)
            logits = self.selector_logits(inputs)
            if self.selector_decisions == 'expected':  # every scale's score weighed
                decisions = logits.softmax(dim=-1)
                chosen = decisions.argmax(dim=-1)
            else:
                decisions, chosen = self.select_from_logits(logits)
        elif self.selector is None:
            decisions, chosen = self.select(inputs)
        elif self.student_stage_scales == 'selector':  # the scales it will be sent
            with torch.no_grad():
                chosen = self.select(inputs)[1]
        else:  # the student alone learns: every scale equally often
            chosen = torch.randint(0, len(self.scales), (inputs.shape[0],),
                                   device=inputs.device)
        computed = self._scales_to_compute(chosen)
        k = len(self.scales)
        b = inputs.shape[0]
        per_scale: Dict[str, torch.Tensor] = {}  # (B, k) per term, NaN where not read
        reads = [(i, idx) for i in range(k)
                 if (idx := computed[:, i].nonzero(as_tuple=True)[0]).numel()]
        with torch.set_grad_enabled(self.train_student and torch.is_grad_enabled()):
            plans = [SequencePlan.of(idx, gt, teacher) for _, idx in reads]
            outs = self._read_scales(inputs, reads, plans, ratios)
            for (i, idx), plan, out in zip(reads, plans, outs):
                out = dict(out, scale=self.scales[i])
                for name, value in self._terms_from_outputs(out, idx, plan, teacher).items():
                    self._check_term(name, value, idx.numel())
                    if name not in per_scale:  # float32 whatever a term's precision
                        per_scale[name] = torch.full((b, k), float('nan'),
                                                     device=value.device)
                    per_scale[name][idx, i] = value.float()  # a half term's too

        weights = self._student_weights(computed, chosen)
        losses = {}
        if self.train_student:
            losses.update(self._student_losses(per_scale, weights))
            if 'gate' in teacher:
                losses['teacher_top1_right'] = teacher['gate'].mean()
        if self.train_selector:
            # Scales not read this step ('sampled') get unbiased stand-ins
            # (their costs are known): read as free, the selector drifted to them.
            score = estimate_unread_scores(per_scale['score'].detach(), computed, chosen)
            sel, parts = self.selector_loss(decisions, score, self.relative_cost,
                                            return_parts=True)
            losses['loss_selector'] = sel
            losses['selector_score'] = parts['score'].detach()
            losses['selector_flops'] = parts['flops'].detach()
            scales = inputs.new_tensor(self.scales)
            losses['mean_scale'] = scales[chosen].mean().detach()
            losses['mean_rel_flops'] = self.relative_cost[chosen].mean().detach()
            if logits is not None:
                # how sure the selector is (nats; log k: it cannot tell the scales
                # apart, 0: one scale, certain), whatever the Gumbel noise drew
                p = logits.detach().float().log_softmax(dim=-1)
                losses['selector_entropy'] = -(p.exp() * p).sum(dim=-1).mean()
        return losses

    def _check_term(self, name: str, value: torch.Tensor, n: int, level: str = '') -> None:
        """A term must hold one value per image read (n,): a role's loss that
        ignores ``reduction_override='none'`` would be broadcast silently.
        ``level``: which feature level gave it (each is checked before they
        are summed, which a value per position would fail first)."""
        if tuple(value.shape) == (n, ):
            return
        losses = dict(skd=self.skd_loss, feature=self.feature_loss, logit=self.logit_loss)
        losses.update((f'extra.{term}', loss) for term, loss in self.extra_losses.items())
        key = f'extra.{name}' if name in self.extra_losses else name
        loss = losses.get(key)
        source = (f'model.losses.{key} ({type(loss).__name__})' if loss is not None
                  else f'the {name} term')
        at = f' at the {level} level' if level else ''
        raise PartContractError(
            f'{source} gave a value of shape {tuple(value.shape)}{at} for {n} image(s) read '
            "at one scale; a loss in a distiller role returns one value per image under "
            "reduction_override='none', shape (n,) (docs/customize.md)")

    def _student_losses(self, per_scale: Dict[str, torch.Tensor], weights: torch.Tensor
                        ) -> Dict[str, torch.Tensor]:
        """``loss_<name>`` of every term read (a subclass's own too) but the
        selector's score, weighted over the scales read per image."""
        return {f'loss_{name}': _weighted_mean(values, weights)
                for name, values in per_scale.items() if name != 'score'}

    def _scales_to_compute(self, chosen: torch.Tensor) -> torch.Tensor:
        """(B, k) bool: which scales the student runs on which image."""
        b, k = chosen.shape[0], len(self.scales)
        if self.scale_strategy == 'all' or k == 1:
            return torch.ones(b, k, dtype=torch.bool, device=chosen.device)
        mask = torch.zeros(b, k, dtype=torch.bool, device=chosen.device)
        mask[torch.arange(b, device=chosen.device), chosen] = True
        # One other scale per image, uniform over the k - 1 not selected.
        other = torch.randint(0, k - 1, (b,), device=chosen.device)
        other = other + (other >= chosen).long()
        mask[torch.arange(b, device=chosen.device), other] = True
        return mask

    def _student_weights(self, computed: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """(B, k) weights that sum to one per image over the computed scales."""
        if self.student_scale_weighting == 'selected':
            w = torch.zeros_like(computed, dtype=torch.float)
            w[torch.arange(w.shape[0], device=w.device), chosen] = 1.0
            return w
        w = computed.float()
        return w / w.sum(dim=1, keepdim=True)

    def _content_ratio(self, inputs: torch.Tensor, valid_ratios: Optional[List[float]]
                       ) -> Optional[torch.Tensor]:
        """(B,) the share of the student's input width that the teacher's whole
        input shows, or None where that is all of it.

        ``ResizePair`` pads an LR frame on the right to keep its aspect ratio
        (``valid_ratio``) and stretches the HR frame over the teacher's whole
        input, so the features and the CTC frames are aligned content to
        content (:func:`~dld.models.connectors.resize_content`). A teacher
        that reads the student's own stream sees the same padding.
        """
        if self.teacher_input != 'hr' or valid_ratios is None:
            return None
        return inputs.new_tensor(valid_ratios, dtype=torch.float)

    @torch.no_grad()
    def _run_teacher(self, teacher_inputs: torch.Tensor, gt: List[List[int]],
                     valid_ratios: Optional[List[float]] = None) -> dict:
        """Teacher features (teacher-forced on the ground truth) and top-k beams
        on what the teacher reads (:meth:`teacher_view`); ``valid_ratios``
        of a teacher that reads the padded LR frame (``teacher_input='lr'``)."""
        feats = self.teacher.forward_features(teacher_inputs, targets=gt,
                                              valid_ratios=valid_ratios)
        out = dict(feats=feats)
        if (self.skd_loss is not None or self.selector_score in ('kl', 'top1_miss')
                or self.teacher_gate != 'none'):
            mask = self.teacher.memory_mask(feats['encoder_out'], valid_ratios)
            seqs, scores = self.teacher.decoder.beam_search(
                feats['encoder_out'], self.skd_beam_width, self.skd_topk,
                **self.teacher.decoder._masked(mask))
            out['beams'] = seqs
            out['beam_scores'] = scores
            out['beam_finite'] = torch.isfinite(scores).tolist()  # for every scale's plan
        if self.teacher_gate == 'top1_right':
            out['gate'] = teacher_inputs.new_tensor(
                [float(bool(b) and list(b[0]) == list(t)) for b, t in zip(seqs, gt)])
        return out

    def _read_scales(self, inputs: torch.Tensor, reads: List[Tuple[int, torch.Tensor]],
                     plans: List['SequencePlan'],
                     valid_ratios: Optional[List[float]] = None) -> List[dict]:
        """The student's outputs (:meth:`TextRecognizer.forward_sequences`) on
        the images ``idx`` of each read ``(scale index, idx)`` at that scale,
        with each plan's sequences teacher-forced.

        The backbone runs once per scale. A decoder that reads a padded
        memory then runs once for every scale together, over the memories
        padded to the longest: one pass of about 6 x 33 rows instead of six
        small ones (docs/method.md). ``valid_ratios`` (one per image, None:
        none padded): the steps of each memory that show the image.
        """
        student = self.student
        scales = [self.scales[i] for i, _ in reads]
        ratios = [_pick(valid_ratios, idx) for _, idx in reads]
        if len(reads) < 2 or not student.decoder.reads_padded_memory:
            return [self._forward_plan(self.resize(inputs[idx], scale), plan, r)
                    for scale, (_, idx), plan, r in zip(scales, reads, plans, ratios)]
        feats = [student.forward_encoder(self.resize(inputs[idx], scale))
                 for scale, (_, idx) in zip(scales, reads)]
        memory, mask = pad_memories(
            [f['encoder_out'] for f in feats],
            [student.memory_mask(f['encoder_out'], r) for f, r in zip(feats, ratios)])
        offsets = [0]
        for f in feats:
            offsets.append(offsets[-1] + f['encoder_out'].shape[0])
        rows = torch.tensor([r + off for plan, off in zip(plans, offsets) for r in plan.rows],
                            device=inputs.device)
        seqs = [seq for plan in plans for seq in plan.seqs]
        nll, logits, hidden = student.decoder.score_sequences(
            memory, seqs, rows, self.unalignable_nll, memory_mask=mask)
        outs, start = [], 0
        for f, plan in zip(feats, plans):
            end = start + len(plan.seqs)
            outs.append(dict(f, nll=nll[start:end], logits=logits[start:end],
                             decoder_hidden=None if hidden is None else hidden[start:end]))
            start = end
        return outs

    def _student_terms(self, x: torch.Tensor, idx: torch.Tensor, gt: List[List[int]],
                       teacher: dict) -> Dict[str, torch.Tensor]:
        """Per-image loss terms (n,) of the student reading ``x``, the images
        ``idx`` at one scale, on its own (frames taken as unpadded:
        ``valid_ratio`` 1)."""
        plan = SequencePlan.of(idx, gt, teacher)
        return self._terms_from_outputs(self._forward_plan(x, plan), idx, plan, teacher)

    def _forward_plan(self, x: torch.Tensor, plan: 'SequencePlan',
                      valid_ratios: Optional[List[float]] = None) -> dict:
        """The student's outputs on ``x`` with the plan's sequences teacher-forced."""
        return self.student.forward_sequences(
            x, plan.seqs, torch.tensor(plan.rows, device=x.device), self.unalignable_nll,
            valid_ratios)

    def _terms_from_outputs(self, out: dict, idx: torch.Tensor, plan: 'SequencePlan',
                            teacher: dict) -> Dict[str, torch.Tensor]:
        """Per-image loss terms (n,) of the student at one scale, from its
        outputs on the plan's sequences (:meth:`_read_scales`).

        The ground truth and the teacher's distinct beams were teacher-forced
        in one decoder pass, and a beam equal to the ground truth (mostly
        the teacher's top beam) reused its row: the student decodes each
        distinct sequence once.
        """
        gt_sub, scores = plan.gt, plan.scores
        n = len(gt_sub)
        nll, hidden = out['nll'], out['decoder_hidden']
        # The first n rows are the ground truth, in image order.
        feats = dict(out, logits=out['logits'][:n],
                     decoder_hidden=None if hidden is None else hidden[:n])
        terms = {}
        terms['task'] = nll[:n] / nll.new_tensor([max(len(t), 1) for t in gt_sub])
        beam_nll = None
        if plan.beam_rows is not None:
            beam_rows = torch.tensor(plan.beam_rows, device=nll.device).view(n, -1)
            # No beam (score -inf): NLL 0, which every consumer masks out.
            # index_select, not nll[rows]: rows repeat (forward_sequences).
            picked = nll.index_select(0, beam_rows.clamp(min=0).flatten()).view_as(beam_rows)
            beam_nll = torch.where(beam_rows >= 0, picked, nll.new_zeros(()))
            if self.skd_loss is not None and self.train_student:
                terms['skd'] = self.skd_loss(beam_nll, scores, reduction_override='none')
        if self.selector_score == 'kl':
            terms['score'] = topk_sequence_kl(beam_nll, scores)
        elif self.selector_score == 'top1_miss':
            terms['score'] = (beam_nll[:, 0].detach() >= math.log(2)).float()
        else:
            terms['score'] = terms['task']
        if not self.train_student:  # a frozen student: its distillation terms train nothing
            return terms
        t_feats = teacher['feats']
        ratio = teacher.get('content_ratio')
        ratio = None if ratio is None else ratio[idx]
        if self.feature_loss is not None:
            terms['feature'] = self._feature_terms(feats, t_feats, idx, gt_sub, ratio)
        if self.logit_loss is not None:
            terms['logit'] = self._logit_terms(feats, t_feats, idx, gt_sub, ratio)
        if self.student_aux_decoder is not None:
            terms['aux'] = self._aux_terms(out['encoder_out'], gt_sub)
        if len(self.extra_losses):
            steps = None if self.student.decoder.logits_per_frame else _step_mask(
                gt_sub, feats['logits'].shape[1], feats['logits'].device)
            student, t_out = extra_term_inputs(feats, t_feats, idx, out.get('scale'), gt_sub,
                                               ratio, steps)
            for name, loss in self.extra_losses.items():
                terms[name] = loss(student, t_out, reduction_override='none')
        if 'gate' in teacher:  # the teacher's outputs count where it reads right
            gate = teacher['gate'][idx]
            for name in ('skd', 'logit'):
                if name in terms:
                    terms[name] = terms[name] * gate
        return terms

    def _feature_terms(self, s: dict, t: dict, idx: torch.Tensor, gt: List[List[int]],
                       ratio: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``ratio`` (n,): :meth:`_content_ratio` of the images ``idx``."""
        levels = self.feature_levels
        n = len(idx)

        def level_loss(level: str, *args, **kwargs) -> torch.Tensor:
            value = self.feature_loss(*args, reduction_override='none', **kwargs)
            self._check_term('feature', value, n, level)
            return levels[level] * value

        t_map = t['backbone_out'][idx]
        total = level_loss('backbone', self.connectors['backbone'](
            s['backbone_out'], size=t_map.shape[-2:], content_ratio=ratio), t_map)
        t_enc = t['encoder_out'][idx]
        total = total + level_loss('encoder', self.connectors['encoder'](
            s['encoder_out'], length=t_enc.shape[1], content_ratio=ratio), t_enc)
        if 'decoder' in self.connectors and s.get('decoder_hidden') is not None:
            t_hid = t['decoder_hidden'][idx]
            s_hid = self.connectors['decoder'](s['decoder_hidden'], length=t_hid.shape[1])
            mask = _step_mask(gt, t_hid.shape[1], t_hid.device)
            total = total + level_loss('decoder', s_hid, t_hid, mask=mask)
        return total

    def _aux_terms(self, encoder_out: torch.Tensor, gt: List[List[int]]) -> torch.Tensor:
        """Per-image loss (n,) of the student's training-only head
        (``TextRecognizer.aux_decoder``) on its memory at this scale, as the
        recognizer trains it alone (its ``'sum'`` reduction becomes a mean
        over images here), so a student that cannot start from the
        teacher's weights can train with the joint CTC-attention head of the
        quickstart teacher (docs/customize.md)."""
        aux = self.student_aux_decoder
        logits, _ = aux(encoder_out, gt)
        # The head reads scales its recognizer never trained at: a memory too
        # short for a label gives 0, not inf (unalignable_nll guards the
        # main CTC loss alike).
        return aux.module_loss.sample_losses(logits, gt, zero_infinity=True)

    def _logit_terms(self, s: dict, t: dict, idx: torch.Tensor, gt: List[List[int]],
                     ratio: Optional[torch.Tensor] = None) -> torch.Tensor:
        t_logits = t['logits'][idx]
        s_logits = s['logits']
        if self.student.decoder.logits_per_frame:
            # CTC: one distribution per input frame, every frame counts; at a
            # smaller scale the student has fewer frames, aligned to the
            # teacher's (content to content, ``ratio``) by linear
            # interpolation along time (an approximation).
            s_logits = resize_content_steps(s_logits, t_logits.shape[1], ratio)
            mask = None
        else:
            mask = _step_mask(gt, t_logits.shape[1], t_logits.device)
        kwargs = dict(mask=mask, reduction_override='none')
        if getattr(self.logit_loss, 'needs_target', False):
            kwargs['target'] = t_logits.argmax(-1)
        return self.logit_loss(s_logits, t_logits, **kwargs)

    # ---------------------------------------------------------------- predict
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[PlateDataSample]] = None,
                force_scale: Optional[float] = None,
                reread: Optional[dict] = None) -> List[PlateDataSample]:
        """Selector picks a scale per image; the student reads at that scale.

        Images are grouped by chosen scale, so a batch costs one student
        forward per scale used. ``reread`` (default ``test_cfg.reread``;
        ``{}`` turns it off) then reads the unsure images again at larger
        scales. ``force_scale`` reads every image once at that scale.
        Sets ``pred_scale`` (the scale of the kept reading), ``pred_scales``
        (every scale read, in order), ``pred_gflops`` (all the reads plus
        the selector) and ``scale_choices`` (the scales it could have kept:
        the candidates and the rereads', or the forced one); where the
        selector chose, ``pred_scale_probs`` (``{'<scale>': probability}``, its
        softmax over the candidates, with ``test_cfg.selector_bias``).
        """
        self._check_input_size(inputs)
        b = inputs.shape[0]
        if data_samples is None:
            data_samples = [PlateDataSample() for _ in range(b)]
        force_scale = force_scale if force_scale is not None else \
            self.test_cfg.get('force_scale')
        probs = None
        if force_scale is not None:
            chosen = torch.full((b,), -1, dtype=torch.long, device=inputs.device)
            groups = [(float(force_scale), torch.arange(b, device=inputs.device))]
        else:
            if self.selector is None:
                _, chosen = self.select(inputs)
            else:  # its probabilities kept: why an image went where it went
                logits = self.selector_logits(inputs)
                _, chosen = self.select_from_logits(logits)
                probs = self._biased(logits).float().softmax(dim=-1).tolist()
            groups = [(self.scales[i], (chosen == i).nonzero(as_tuple=True)[0])
                      for i in range(len(self.scales))]
        with_selector = force_scale is None and self.selector is not None
        reread = self.test_cfg.get('reread') if reread is None else reread
        if reread and force_scale is None:
            check_reread(reread, self.scales)
        choices = sorted({scale for scale, _ in groups} | (
            {float(s) for s in reread['scales']} if reread and force_scale is None else set()))
        for ds in data_samples:
            ds.set_field(self.costs.selector_flops / 1e9 if with_selector else 0.0,
                         'pred_gflops', field_type='data')
            ds.set_field([], 'pred_scales', field_type='data')
            ds.set_field(choices, 'scale_choices', field_type='data')
        if probs is not None:
            for ds, p in zip(data_samples, probs):
                ds.set_field({f'{float(s):g}': v for s, v in zip(self.scales, p)},
                             'pred_scale_probs', field_type='data')
        self._read(inputs, data_samples, [(scale, idx.tolist()) for scale, idx in groups])
        if reread and force_scale is None:
            for scale in sorted(float(s) for s in reread['scales']):
                unsure = [i for i, ds in enumerate(data_samples)
                          if ds.pred_score < reread['min_score'] and ds.pred_scale < scale]
                self._read(inputs, data_samples, [(scale, unsure)])
        return data_samples

    @torch.no_grad()
    def _read(self, inputs: torch.Tensor, data_samples: List[PlateDataSample],
              groups: List[Tuple[float, List[int]]]) -> None:
        """The student reads each group's images ``inputs[idx]`` at its scale;
        its reading replaces theirs. The backbone runs once per scale; a
        decoder that reads a padded memory decodes every group in one pass,
        as in training (:meth:`_read_scales`)."""
        groups = [(float(scale), idx) for scale, idx in groups if idx]
        if not groups:
            return
        student = self.student
        views = [self.resize(inputs[torch.as_tensor(idx, device=inputs.device)], scale)
                 for scale, idx in groups]
        if len(groups) == 1 or not student.decoder.reads_padded_memory:
            for view, (_, idx) in zip(views, groups):
                student.predict(view, [data_samples[i] for i in idx])
        else:
            memories = [student.forward_encoder(v)['encoder_out'] for v in views]
            masks = [student.memory_mask(m, student.valid_ratios([data_samples[i] for i in idx]))
                     for m, (_, idx) in zip(memories, groups)]
            memory, mask = pad_memories(memories, masks)
            student.predict_memory(memory, [data_samples[i] for _, idx in groups for i in idx],
                                   memory_mask=mask)
        for scale, idx in groups:
            gflops = self.costs.student_flops_at(scale) / 1e9
            for ds in (data_samples[i] for i in idx):
                ds.set_field(scale, 'pred_scale', field_type='data')
                ds.set_field(ds.pred_scales + [scale], 'pred_scales', field_type='data')
                ds.set_field(ds.pred_gflops + gflops, 'pred_gflops', field_type='data')


# -------------------------------------------------------------------- helpers
def _pick(values: Optional[List[float]], idx: torch.Tensor) -> Optional[List[float]]:
    return None if values is None else [values[i] for i in idx.tolist()]


def _scales_of(scales, name: str = 'model.scales') -> List[float]:
    """``scales`` as floats; a string or a list of other things refused
    naming the setting (``'1.0,0.5'`` was "could not convert string to
    float: '.'")."""
    try:
        if isinstance(scales, (str, bytes)) or isinstance(scales, bool):
            raise TypeError
        found = [float(s) for s in scales]
    except (TypeError, ValueError):
        raise TypeError(f'{name} must be a tuple of numbers, e.g. (1.0, 0.6, 0.3), got '
                        f'{scales!r}') from None
    if not found:  # was "ResolutionSelector needs at least one scale", naming no setting
        raise ValueError(f'{name} is empty: give the candidate scales, e.g. (1.0, 0.6, 0.3), '
                         'or one fixed scale with model.fixed_scale')
    return found


def _in_channels(cfg: dict, backbone: Optional[nn.Module] = None) -> int:
    """The channels a recognizer reads: its built backbone's ``in_channels``
    (a backbone of one's own may default to 1), else its config's, else 3."""
    built = getattr(backbone, 'in_channels', None)
    if isinstance(built, int):
        return built
    return int(cfg.get('backbone', {}).get('in_channels', 3))


def _check_selector_takes_scales(selector: dict) -> None:
    """The distiller gives its selector ``scales=model.scales``: a selector
    of one's own that takes no ``scales`` was refused by MMEngine as "got an
    unexpected keyword argument 'scales'", with a hint to look in the
    config, which does not set it."""
    cls = MODELS.get(selector['type']) if isinstance(selector.get('type'), str) else \
        selector.get('type')
    if not inspect.isclass(cls):
        return  # unknown: the registry's own error names it
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return
    if any(p.name == 'scales' or p.kind is p.VAR_KEYWORD for p in params):
        return
    raise PartContractError(
        f'model.selector ({cls.__name__}) takes no `scales`: the distiller builds its '
        'selector with scales=model.scales, the candidate scales it picks among (one logit '
        f'each); give {cls.__name__}.__init__ a `scales` argument (docs/customize.md)')


def _with_in_channels(selector: dict, channels: int) -> dict:
    """The selector reads the student's input: a grey student's selector
    was built for 3 channels and failed on its first image. Set where the
    config leaves it and the selector's class takes it."""
    cls = MODELS.get(selector['type']) if isinstance(selector.get('type'), str) else \
        selector.get('type')
    if 'in_channels' in selector or cls is None or \
            'in_channels' not in inspect.signature(cls).parameters:
        return selector
    return dict(selector, in_channels=channels)


def _step_mask(targets: List[List[int]], length: int, device) -> torch.Tensor:
    """(n, L) True on each target's characters and its end token."""
    lens = torch.tensor([len(t) + 1 for t in targets], device=device)
    return torch.arange(length, device=device)[None, :] < lens[:, None]


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Sum over scales of weight * value, mean over images; NaN (not run) is 0."""
    safe = torch.where(weights > 0, values, torch.zeros_like(values))
    return (safe * weights).sum(dim=1).mean()
