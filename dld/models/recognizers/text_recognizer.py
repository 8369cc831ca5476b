"""Backbone -> encoder -> decoder: the teacher and the student."""
import logging
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel

from dld.models.data_preprocessors.plate_data_preprocessor import check_model_channels
from dld.models.decoders.padded_memory import content_mask
from dld.models.layers import convert_to_scale_batch_norm, set_active_scale
from dld.models.selectors.scale_resize import resize_to_scale
from dld.registry import MODELS
from dld.structures.plate_data_sample import PlateDataSample
from dld.utils.flops import scale_input_shapes

ForwardResults = Union[Dict[str, torch.Tensor], List[PlateDataSample], torch.Tensor, Dict]


@MODELS.register_module()
class TextRecognizer(BaseModel):
    """The recognizer of docs/architecture.md; teacher and student share it.

    Features are returned explicitly by :meth:`forward_features`, so
    distillation never reaches into private module names.

    Args:
        backbone (dict): e.g. ``ResNetPlate``.
        encoder (dict): ``TransformerEncoder`` / ``BiLSTMEncoder``;
            ``in_channels`` defaults to ``backbone.out_channels``.
        decoder (dict): ``CTCDecoder`` / ``AttentionDecoder``; ``in_channels``
            defaults to ``encoder.out_channels``.
        data_preprocessor (dict | None): e.g. ``PlateDataPreprocessor``.
        train_scales (Sequence[float] | None): scale augmentation: each
            training batch is resized to one of these scales of its input
            size, drawn uniformly, so a recognizer trained without
            distillation reads every scale a DLD student may be given (the
            fair no-KD baseline). None trains at the input size.
        scale_norm (dict | None): ``dict(scales=[...], base_size=(H, W))``
            gives the backbone one set of BatchNorm statistics per scale
            (:class:`~dld.models.layers.ScaleBatchNorm2d`); the set is picked
            from each input's size (the nearest of the scales' sizes). For
            a recognizer that reads several scales: the DLD student (the
            distiller fills this in) and the scale-augmented baseline.
        aux_decoder (dict | None): a training-only head on the encoder
            output whose loss is added under an ``aux_`` prefix, e.g.
            ``dict(type='CTCDecoder', module_loss=dict(type='CTCModuleLoss',
            loss_weight=0.5))``: joint CTC-attention training. CTC scores
            every column against the label from the first step, so the
            encoder learns where the characters are before the attention
            decoder has learnt to look for them, and an attention model
            leaves its early plateau sooner. The head never predicts, is not
            distilled and adds no inference FLOPs; its dictionary defaults
            to the decoder's characters and case rule, and its weights are
            dropped when a checkpoint is loaded into a recognizer without one.
        test_cfg (dict | None): ``decode`` (``'greedy'`` | ``'beam'``),
            ``beam_width``, ``topk`` (ints >= 1). ``topk > 1`` needs
            ``decode='beam'`` and fills ``pred_topk``. ``count_flops``
            (default False; ``tools/test.py`` turns it on): :meth:`predict`
            sets ``pred_gflops`` (at the input's size, decoded as it
            decodes; measured once a shape) and ``pred_scale`` 1.0, so
            :class:`~dld.evaluation.ReadingCostMetric` reports what a plain
            recognizer's readings cost beside a DLD student's.
        init_cfg (dict | list | None): MMEngine weight init.

    ``pred_score`` is ``exp`` of the predicted string's sequence
    log-probability (CTC: summed over all alignments; attention: product of
    step probabilities up to and including EOS), for greedy and beam alike.
    """

    TEST_KEYS = ('decode', 'beam_width', 'topk', 'count_flops')

    def __init__(self, backbone: dict, encoder: dict, decoder: dict,
                 data_preprocessor: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 train_scales: Optional[Sequence[float]] = None,
                 scale_norm: Optional[dict] = None, aux_decoder: Optional[dict] = None,
                 init_cfg=None) -> None:
        if isinstance(data_preprocessor, dict):
            # Built here, in DLD's registry, so no default scope is needed.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        check_model_channels(self.data_preprocessor,
                             getattr(self.backbone, 'in_channels', None))
        self.encoder = self._build_encoder(encoder)
        self.decoder = MODELS.build(decoder, default_args=self._width_of(self.encoder))
        self.aux_decoder = None
        if aux_decoder is not None:
            chars = self.dictionary.dict[:self.dictionary.num_chars]
            # The decoder's case rule too: a case-sensitive dictionary with
            # lower-case characters cannot be rebuilt case-insensitively.
            aux_dict = dict(type='Dictionary', chars=chars,
                            case_sensitive=self.dictionary.case_sensitive,
                            unknown=self.dictionary.unknown)
            self.aux_decoder = MODELS.build({'dictionary': aux_dict, **aux_decoder},
                                            default_args=self._width_of(self.encoder))
            aux_dict = self.aux_decoder.dictionary
            if aux_dict.dict[:aux_dict.num_chars] != chars:
                raise ValueError('TextRecognizer.aux_decoder: its dictionary must hold the '
                                 "decoder's characters in the same order.")
        self._register_load_state_dict_pre_hook(self._drop_aux_weights)
        self.test_cfg = self._check_test_cfg(dict(test_cfg or {}))
        self.train_scales = [float(s) for s in train_scales] if train_scales else None
        self.scale_norm_sizes = None
        #: The scales whose BatchNorm statistics the backbone keeps, in order.
        self.scale_norm_scales = None
        if scale_norm:
            self.scale_norm_sizes = self._scale_norm_sizes(**scale_norm)
            self.scale_norm_scales = tuple(float(s) for s in scale_norm['scales'])
            convert_to_scale_batch_norm(self.backbone, len(self.scale_norm_sizes))

    def _drop_aux_weights(self, state_dict, prefix, *args) -> None:
        """A recognizer without the training-only head reads a checkpoint of
        one trained with it (the head is not part of the inference model)."""
        if self.aux_decoder is None:
            for key in [k for k in state_dict if k.startswith(f'{prefix}aux_decoder.')]:
                del state_dict[key]

    @staticmethod
    def _scale_norm_sizes(scales: Sequence[float], base_size: Sequence[int]
                          ) -> List[Tuple[int, int]]:
        sizes = scale_input_shapes(tuple(base_size), [float(s) for s in scales])
        if len(set(sizes)) != len(sizes):
            raise ValueError(f'TextRecognizer.scale_norm: scales {list(scales)} of '
                             f'{tuple(base_size)} give repeated input sizes {sizes}.')
        return sizes

    def scale_index(self, size: Sequence[int]) -> int:
        """Index of the scale whose input size is nearest ``(H, W)`` (log ratio)."""
        h, w = size
        best, best_gap = 0, math.inf  # a loop: min(key=...) broke torch.compile's graph
        for i, (sh, sw) in enumerate(self.scale_norm_sizes):
            gap = abs(math.log(h / sh)) + abs(math.log(w / sw))
            if gap < best_gap:
                best, best_gap = i, gap
        return best

    def borrowed_norm_scale(self, size: Sequence[int]) -> Optional[float]:
        """The trained scale whose BatchNorm statistics an input of ``(H, W)``
        is read with where it has none of its own, else None (a backbone
        with one set, or the input size of a trained scale: 0.6002 is
        0.6's). Inference, the config's ``force_scale`` and the benchmarks
        warn by this one rule: such a scale may read far worse (the tiny
        tests' student read 2 of 2 plates at 0.4x, 0 at 0.5x)."""
        if not self.scale_norm_sizes or tuple(size) in map(tuple, self.scale_norm_sizes):
            return None
        return self.scale_norm_scales[self.scale_index(size)]

    def _build_encoder(self, encoder: dict) -> torch.nn.Module:
        """The encoder, its ``in_channels`` the backbone's ``out_channels``;
        a backbone that declares none is named, not left to the encoder's
        missing-argument error."""
        try:
            return MODELS.build(encoder, default_args=self._width_of(self.backbone))
        except TypeError as err:
            if 'in_channels' not in str(err) or hasattr(self.backbone, 'out_channels'):
                raise
            raise TypeError(
                f'TextRecognizer: backbone {type(self.backbone).__name__} declares no '
                "out_channels, which gives the encoder's in_channels: set "
                'self.out_channels (the channels of the map it returns) in the backbone, or '
                f'encoder.in_channels in the config ({err})') from None

    def _checked_backbone_output(self, feat) -> torch.Tensor:
        """The backbone's contract: one ``(B, C, H, W)`` map, ``C`` its
        ``out_channels``. A tuple of stages (the OpenMMLab habit) or a
        sequence would otherwise fail deep in the encoder, unnamed."""
        name = type(self.backbone).__name__
        if not isinstance(feat, torch.Tensor) or feat.dim() != 4:
            got = (f'a {type(feat).__name__}' if not isinstance(feat, torch.Tensor)
                   else f'a tensor of shape {tuple(feat.shape)}')
            raise TypeError(f'TextRecognizer: backbone {name} returned {got}; a backbone '
                            'returns one (B, C, H, W) feature map (the last stage only)')
        width = getattr(self.backbone, 'out_channels', None)
        if isinstance(width, int) and feat.shape[1] != width:
            raise ValueError(f'TextRecognizer: backbone {name} declares out_channels={width} '
                             f'but returned {feat.shape[1]} channels')
        return feat

    @staticmethod
    def _width_of(module) -> dict:
        """``in_channels`` for the next module, when ``module`` declares it."""
        width = getattr(module, 'out_channels', None)
        return {} if width is None else dict(in_channels=width)

    def _check_test_cfg(self, cfg: dict) -> dict:
        unknown = sorted(set(cfg) - set(self.TEST_KEYS))
        if unknown:
            raise KeyError(f'TextRecognizer.test_cfg: unknown key(s) {unknown}; '
                           f'allowed: {list(self.TEST_KEYS)}.')
        cfg.setdefault('decode', 'greedy')
        cfg.setdefault('beam_width', self.decoder.beam_width)
        cfg.setdefault('topk', 1)
        cfg['count_flops'] = bool(cfg.get('count_flops', False))
        if cfg['decode'] not in ('greedy', 'beam'):
            raise ValueError(f"TextRecognizer.test_cfg.decode must be 'greedy' or 'beam', "
                             f"got {cfg['decode']!r}.")
        for key in ('beam_width', 'topk'):
            # 0 would silently fall back to the decoder's default further down
            if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < 1:
                raise ValueError(f'TextRecognizer.test_cfg.{key} must be an int >= 1, '
                                 f'got {cfg[key]!r}.')
        if cfg['topk'] > 1 and cfg['decode'] != 'beam':
            raise ValueError(f"TextRecognizer.test_cfg: topk={cfg['topk']} needs "
                             "decode='beam'.")
        if cfg['decode'] == 'beam' and cfg['beam_width'] == 1 and cfg['topk'] > 1:
            # read greedily below, it returned one text where topk asked for more,
            # without a word (infer.py --beam-width 1 --topk 2 is refused)
            raise ValueError(f"TextRecognizer.test_cfg: beam_width=1 reads greedily, one "
                             f"text; topk={cfg['topk']} needs beam_width >= {cfg['topk']}.")
        if cfg['decode'] == 'beam' and cfg['beam_width'] == 1:
            # greedy, as infer.py --beam-width 1 and PlateRecognizer read it (a
            # beam of one kept 'end here' as a finished reading at each step:
            # another, shorter text than greedy's, at the same cost said)
            cfg['decode'] = 'greedy'
        return cfg

    @property
    def dictionary(self):
        return self.decoder.dictionary

    # -- features -----------------------------------------------------------
    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> backbone_out (B, C', H', W')``."""
        if self.scale_norm_sizes is not None:
            set_active_scale(self.backbone, self.scale_index(inputs.shape[-2:]))
        feat = self.backbone(inputs)
        if torch.jit.is_tracing():  # fvcore's FLOP trace (DLD_FLOP_COUNTER=fvcore)
            return feat
        return self._checked_backbone_output(feat)

    def memory_mask(self, encoder_out: torch.Tensor,
                    valid_ratios: Optional[Sequence[float]]) -> Optional[torch.Tensor]:
        """``(B, T)`` steps of ``encoder_out`` that show the image, for a
        decoder that ``reads_padded_memory``; None for a CTC decoder (it
        emits blanks over the padding) or where every step does
        (:func:`~dld.models.decoders.content_mask`)."""
        if valid_ratios is None or not self.decoder.reads_padded_memory:
            return None
        return content_mask(valid_ratios, encoder_out.shape[1], encoder_out.device)

    @staticmethod
    def valid_ratios(data_samples: Optional[Sequence[PlateDataSample]]
                     ) -> Optional[List[float]]:
        """Each sample's ``valid_ratio`` (1.0 where it has none)."""
        if data_samples is None:
            return None
        return [float(ds.metainfo.get('valid_ratio', 1.0)) for ds in data_samples]

    def forward_features(self, inputs: torch.Tensor,
                         targets: Optional[Sequence[Sequence[int]]] = None,
                         valid_ratios: Optional[Sequence[float]] = None) -> Dict:
        """``dict(backbone_out, encoder_out, logits, decoder_hidden)``.

        Logits are teacher-forced on ``targets`` when given (CTC ignores
        them); without targets an attention decoder runs greedily.
        ``decoder_hidden`` is ``(B, L, D')`` for attention, None for CTC.
        ``valid_ratios``: the inputs' ``valid_ratio`` (:meth:`memory_mask`).
        """
        backbone_out = self.extract_feat(inputs)
        encoder_out = self.encoder(backbone_out)
        logits, hidden = self.decoder(encoder_out, targets,
                                      self.memory_mask(encoder_out, valid_ratios))
        return dict(backbone_out=backbone_out, encoder_out=encoder_out, logits=logits,
                    decoder_hidden=hidden)

    def forward_sequences(self, inputs: torch.Tensor, targets: Sequence[Sequence[int]],
                          rows: Optional[torch.Tensor] = None,
                          unalignable_nll: Optional[float] = None,
                          valid_ratios: Optional[Sequence[float]] = None) -> Dict:
        """:meth:`forward_features` for several targets per image, plus ``nll``.

        The image features are computed once; ``targets[j]`` is then
        teacher-forced on image ``rows[j]`` (None: image j), all in one
        decoder pass. ``logits``, ``decoder_hidden`` and ``nll`` have one row
        per target; ``backbone_out`` and ``encoder_out`` one per image.
        ``valid_ratios``: one per image (:meth:`memory_mask`).
        """
        feats = self.forward_encoder(inputs)
        nll, logits, hidden = self.decoder.score_sequences(
            feats['encoder_out'], targets, rows, unalignable_nll,
            memory_mask=self.memory_mask(feats['encoder_out'], valid_ratios))
        return dict(feats, logits=logits, decoder_hidden=hidden, nll=nll)

    def forward_encoder(self, inputs: torch.Tensor) -> Dict:
        """``dict(backbone_out, encoder_out)``: what the decoder reads, so a
        distiller can decode several inputs' memories in one pass."""
        backbone_out = self.extract_feat(inputs)
        return dict(backbone_out=backbone_out, encoder_out=self.encoder(backbone_out))

    def encode_targets(self, texts: Sequence[str]) -> List[List[int]]:
        """Dictionary indices, no special tokens."""
        return [self.dictionary.str2idx(t) for t in texts]

    def sequence_nll(self, encoder_out: torch.Tensor, targets: Sequence[Sequence[int]],
                     unalignable_nll: Optional[float] = None) -> torch.Tensor:
        """``-log p(target | x)``, ``(N,)``; CTC sums over alignments (+inf
        when a target is too long for T, or ``unalignable_nll`` with zero
        gradient when set), attention sums token NLLs incl. EOS."""
        return self.decoder.sequence_nll(encoder_out, targets, unalignable_nll)

    # -- modes --------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor', inputs_hr: Optional[torch.Tensor] = None
                ) -> ForwardResults:
        """``inputs_hr`` is accepted (the data preprocessor may pass it) and ignored."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.forward_features(inputs)['logits']
        if mode == 'feat':
            targets = None
            if data_samples is not None:
                targets = self.encode_targets(self._gt_texts(data_samples))
            return self.forward_features(inputs, targets, self.valid_ratios(data_samples))
        raise ValueError(f"TextRecognizer.forward: mode must be 'loss', 'predict', 'tensor' "
                         f"or 'feat', got {mode!r}.")

    @staticmethod
    def _gt_texts(data_samples: Sequence[PlateDataSample]) -> List[str]:
        texts = []
        for i, ds in enumerate(data_samples):
            if 'gt_text' not in ds:
                raise KeyError(f'TextRecognizer: data_samples[{i}] has no gt_text; the '
                               'pipeline must pack labels for training.')
            texts.append(ds.gt_text)
        return texts

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[PlateDataSample]
             ) -> Dict[str, torch.Tensor]:
        targets = self.encode_targets(self._gt_texts(data_samples))
        if self.train_scales:
            scale = self.train_scales[int(torch.randint(len(self.train_scales), ()))]
            inputs = resize_to_scale(inputs, scale)
        encoder_out = self.encoder(self.extract_feat(inputs))
        losses = self.decoder.loss(
            encoder_out, targets, self.memory_mask(encoder_out, self.valid_ratios(data_samples)))
        if self.aux_decoder is not None:
            aux = self.aux_decoder.loss(encoder_out, targets)
            losses.update({f'aux_{k}': v for k, v in aux.items()})
        return losses

    @torch.no_grad()
    def beam_search(self, inputs: torch.Tensor, beam_width: Optional[int] = None,
                    topk: Optional[int] = None) -> Tuple[List[List[List[int]]], torch.Tensor]:
        """B lists of k index lists (best first) and ``(B, k)`` log-probs."""
        encoder_out = self.encoder(self.extract_feat(inputs))
        return self.decoder.beam_search(encoder_out, beam_width or self.test_cfg['beam_width'],
                                        topk or self.test_cfg['topk'])

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[PlateDataSample]] = None) -> List[PlateDataSample]:
        """Fills ``pred_text``, ``pred_score``, ``pred_truncated`` (a decoder
        that says) and, when ``topk > 1``, ``pred_topk``."""
        if data_samples is None:
            data_samples = [PlateDataSample() for _ in range(inputs.size(0))]
        encoder_out = self.encoder(self.extract_feat(inputs))
        data_samples = self.predict_memory(
            encoder_out, data_samples,
            self.memory_mask(encoder_out, self.valid_ratios(data_samples)))
        if self.test_cfg.get('count_flops'):
            self._set_reading_cost(tuple(inputs.shape[1:]), data_samples)
        return data_samples

    def _set_reading_cost(self, shape: Tuple[int, ...],
                          data_samples: List[PlateDataSample]) -> None:
        """``pred_gflops`` of a reading of a ``(C, H, W)`` input, as this
        recognizer decodes now, and ``pred_scale`` 1.0 (its own input). A
        model whose count fails (a part of one's own) is read uncounted,
        with one warning: the count is a report's, not the reading's."""
        from dld.models.distillers.scale_costs import ScaleCosts, beam_width_of
        key = (shape, beam_width_of(self))
        cache = self.__dict__.setdefault('_reading_gflops', {})  # a batch: no new trace
        if key not in cache:
            try:
                costs = ScaleCosts.of_recognizer(self, shape[1:], in_channels=shape[0])
                cache[key] = costs.student_flops_at(1.0) / 1e9
            except Exception as err:  # noqa: BLE001 - whatever the trace of a custom part raises
                from mmengine.logging import print_log
                print_log(f'The FLOPs of a {shape[1]}x{shape[2]} reading cannot be counted '
                          f'({type(err).__name__}: {str(err).strip()[:200]}): the '
                          'cost/ figures are left out', logger='current',
                          level=logging.WARNING)
                cache[key] = None
        gflops = cache[key]
        if gflops is None:
            return
        for ds in data_samples:
            ds.set_field(gflops, 'pred_gflops', field_type='data')
            ds.set_field(1.0, 'pred_scale', field_type='data')
            ds.set_field([1.0], 'scale_choices', field_type='data')

    @torch.no_grad()
    def predict_memory(self, encoder_out: torch.Tensor, data_samples: List[PlateDataSample],
                       memory_mask: Optional[torch.Tensor] = None) -> List[PlateDataSample]:
        """:meth:`predict` from the encoder's output (:meth:`forward_encoder`),
        so a distiller decodes several scales' memories, padded to one length
        (``memory_mask``, see :func:`pad_memories`), in one pass."""
        cfg = self.test_cfg
        results = self.decoder.predict(encoder_out, cfg['decode'], cfg['beam_width'],
                                       cfg['topk'], memory_mask=memory_mask)
        for ds, res in zip(data_samples, results):
            ds.pred_text = res['text']
            ds.pred_score = res['score']
            if res.get('truncated') is not None:
                ds.set_field(res['truncated'], 'pred_truncated', field_type='data')
            elif 'pred_truncated' in ds:  # a reread by a decoder that does not say
                del ds.pred_truncated
            if cfg['topk'] > 1:
                ds.pred_topk = res['topk']
        return data_samples


def untrained_scale_warning(recognizer, base_size: Sequence[int], scale: float,
                            what: str) -> Optional[str]:
    """The warning for reading ``recognizer`` at ``scale`` of ``base_size``
    where that scale has no BatchNorm statistics of its own
    (:meth:`TextRecognizer.borrowed_norm_scale`), else None; ``what`` names
    the setting (``'--scale 0.7'``). Inference, the config's
    ``force_scale``, the report and the benchmarks warn by it."""
    borrowed = getattr(recognizer, 'borrowed_norm_scale', None)  # a custom one may lack it
    if borrowed is None:
        return None
    [size] = scale_input_shapes(tuple(base_size), [float(scale)])
    nearest = borrowed(size)
    if nearest is None:
        return None
    trained = ', '.join(f'{s:g}' for s in recognizer.scale_norm_scales)
    return (f'{what} is none of the scales the student was trained at ({trained}): it reads '
            f'there with the BatchNorm statistics of {nearest:g}, the nearest, and may read '
            'far worse than at a trained scale')
