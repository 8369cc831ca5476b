"""Running a model at a given input scale, and choosing its decoding.

Shared by the inferencer and the FLOPs/accuracy report, so that "the student
at scale s" means the same computation everywhere: the normalised LR batch at
the base size, resized with :func:`resize_to_scale` (the distiller's own
rule), then the recognizer's ``predict``.
"""
import contextlib
import logging
import numbers
from typing import Iterable, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

from dld.reading_limits import MAX_BEAM_WIDTH
from dld.structures import PlateDataSample


def is_distiller(model: nn.Module) -> bool:
    from dld.models.distillers import DLDDistiller
    return isinstance(model, DLDDistiller)


def recognizer_of(model: nn.Module) -> nn.Module:
    """The recognizer that reads the text: the student of a distiller, else the model."""
    return model.student if is_distiller(model) else model


def base_size_of(model: nn.Module, pipeline: Optional[Iterable] = None, stream: str = 'lr',
                 default: Tuple[int, int] = (48, 144)) -> Tuple[int, int]:
    """``(H, W)`` the model reads at scale 1.0.

    A distiller says (``base_size``); a plain recognizer reads what its test
    pipeline resizes ``stream`` to (``ResizePair``'s ``lr_size`` or
    ``hr_size``), so its scales and FLOPs are those of its own input.
    ``default`` (with a warning) only for a pipeline without a resize step.
    """
    if hasattr(model, 'base_size'):
        return tuple(int(s) for s in model.base_size)
    size = pipeline_input_size(pipeline or (), stream)
    if size is None:
        from mmengine.logging import print_log
        print_log(f'The test pipeline has no resize step (ResizePair) for the {stream} '
                  f'image: inputs are resized to {tuple(default)} (H, W).',
                  logger='current', level=logging.WARNING)
        return tuple(default)
    return size


def pipeline_input_size(transforms: Iterable, stream: str = 'lr') -> Optional[Tuple[int, int]]:
    """The ``(H, W)`` the last resize step of ``transforms`` gives ``stream``
    (``'lr'``: ``img``, ``'hr'``: ``img_hr``), or None without one."""
    if stream not in ('lr', 'hr'):
        raise ValueError(f"stream must be 'lr' or 'hr', got {stream!r}")
    size = None
    for t in transforms:
        found = getattr(t, f'{stream}_size', None)
        if found is not None:
            size = tuple(int(s) for s in found)
    return size


@torch.no_grad()
def predict_at_scale(recognizer: nn.Module, inputs: torch.Tensor,
                     data_samples: List[PlateDataSample], scale: float,
                     base_size: Tuple[int, int]) -> List[PlateDataSample]:
    """``recognizer.predict`` on ``inputs (B, C, H, W)`` resized to ``scale`` of ``base_size``."""
    from dld.models.selectors import resize_to_scale
    if float(scale) != 1.0 or tuple(inputs.shape[-2:]) != tuple(base_size):
        inputs = resize_to_scale(inputs, float(scale), base_hw=tuple(base_size))
    return recognizer.predict(inputs, data_samples)


def check_decoding(beam_width: Optional[int] = None, topk: Optional[int] = None) -> None:
    """Refuse decoding arguments that are not integers in ``[1, MAX_BEAM_WIDTH]``,
    or a beam narrower than the ``topk`` texts it must return."""
    for name, value in (('beam_width', beam_width), ('topk', topk)):
        if value is None:
            continue
        if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
                or value > MAX_BEAM_WIDTH):
            raise ValueError(f'{name} must be an integer from 1 to {MAX_BEAM_WIDTH}, '
                             f'got {value!r}')
    if beam_width is not None and topk is not None and beam_width < topk:
        raise ValueError(f'beam_width={beam_width} cannot return topk={topk} texts; '
                         f'give beam_width >= {topk}')


@contextlib.contextmanager
def decoding(recognizer: nn.Module, beam_width: Optional[int] = None,
             topk: Optional[int] = None) -> Iterator[None]:
    """Temporarily switch a :class:`TextRecognizer`'s decoding (a
    distiller's: its student's, the recognizer that reads).

    ``beam_width=1`` is greedy decoding, ``beam_width > 1`` beam search of
    that width; ``topk = k`` returns the k best texts (``k > 1`` needs a
    beam: without ``beam_width`` the config's width, at least k). None
    leaves the config's choice as it is.
    """
    check_decoding(beam_width, topk)
    # the distiller's own test_cfg (scales, reread) has no decoding: set
    # there, the switch did nothing
    recognizer = recognizer_of(recognizer)
    if beam_width is None and topk is None:
        yield
        return
    saved = dict(recognizer.test_cfg)
    cfg = dict(saved)
    k = int(topk or 1)
    if beam_width == 1:
        cfg.update(decode='greedy', topk=1)
    elif beam_width is not None:
        cfg.update(decode='beam', beam_width=int(beam_width), topk=k)
    elif k > 1:
        cfg.update(decode='beam', beam_width=max(int(cfg.get('beam_width') or 1), k), topk=k)
    else:
        cfg.update(topk=1)
    recognizer.test_cfg = cfg
    try:
        yield
    finally:
        recognizer.test_cfg = saved


def decoding_of(recognizer: nn.Module) -> str:
    """How ``recognizer`` decodes now, in words: ``'greedy'`` or ``'beam search
    of width W'`` (reports name the decoding their FLOPs count)."""
    from dld.models.distillers.scale_costs import beam_width_of
    width = beam_width_of(recognizer)
    return 'greedy' if width is None else f'beam search of width {width}'


class RecognizerCosts:
    """FLOPs of a plain recognizer at any scale (measured on first use).

    Mirrors the part of :class:`~dld.models.distillers.ScaleCosts` that
    inference and reports read; a plain recognizer has no selector, and its
    reference ("teacher") cost is its own at scale 1.0 decoded greedily, as a
    distiller's teacher reference is. :meth:`student_flops_at` counts a
    reading as the recognizer decodes now, its beam search included.
    """

    def __init__(self, recognizer: nn.Module, base_size: Tuple[int, int]) -> None:
        from dld.models.distillers import ScaleCosts
        self._costs = ScaleCosts.of_recognizer(recognizer, base_size,
                                               first_conv_in_channels(recognizer))
        self.selector_flops = 0
        self.teacher_flops = self._costs.greedy_flops_at(1.0)

    @property
    def uncounted_ops(self) -> set:
        return self._costs.uncounted_ops

    def student_flops_at(self, scale: float) -> int:
        return self._costs.student_flops_at(scale)

    def greedy_flops_at(self, scale: float) -> int:
        return self._costs.greedy_flops_at(scale)

    def gflops_at(self, scale: float, with_selector: bool = False) -> float:
        return self._costs.gflops_at(scale, with_selector=False)


def first_conv_in_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return 3
