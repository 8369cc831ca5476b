"""Running a model at a given input scale, and choosing its decoding.

Shared by the inferencer and the FLOPs/accuracy report, so that "the student
at scale s" means the same computation everywhere: the normalised LR batch at
the base size, resized with :func:`resize_to_scale` (the distiller's own
rule), then the recognizer's ``predict``.
"""
import contextlib
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

from dld.structures import PlateDataSample


def is_distiller(model: nn.Module) -> bool:
    from dld.models.distillers import DLDDistiller
    return isinstance(model, DLDDistiller)


def recognizer_of(model: nn.Module) -> nn.Module:
    """The recognizer that reads the text: the student of a distiller, else the model."""
    return model.student if is_distiller(model) else model


def base_size_of(model: nn.Module, default: Tuple[int, int] = (48, 144)) -> Tuple[int, int]:
    return tuple(getattr(model, 'base_size', default))


@torch.no_grad()
def predict_at_scale(recognizer: nn.Module, inputs: torch.Tensor,
                     data_samples: List[PlateDataSample], scale: float,
                     base_size: Tuple[int, int]) -> List[PlateDataSample]:
    """``recognizer.predict`` on ``inputs (B, C, H, W)`` resized to ``scale`` of ``base_size``."""
    from dld.models.selectors import resize_to_scale
    if float(scale) != 1.0 or tuple(inputs.shape[-2:]) != tuple(base_size):
        inputs = resize_to_scale(inputs, float(scale), base_hw=tuple(base_size))
    return recognizer.predict(inputs, data_samples)


@contextlib.contextmanager
def decoding(recognizer: nn.Module, beam_width: Optional[int] = None,
             topk: Optional[int] = None) -> Iterator[None]:
    """Temporarily switch a :class:`TextRecognizer` to beam search / top-k output.

    ``beam_width > 1`` or ``topk > 1`` selects beam search (width at least
    ``topk``); neither leaves the config's decoding as it is.
    """
    if not beam_width and not topk:
        yield
        return
    for name, value in (('beam_width', beam_width), ('topk', topk)):
        if value is not None and int(value) < 1:
            raise ValueError(f'{name} must be >= 1, got {value}')
    saved = dict(recognizer.test_cfg)
    cfg = dict(saved)
    k = int(topk or 1)
    width = int(beam_width or max(cfg.get('beam_width') or 1, k))
    if width > 1 or k > 1:
        cfg.update(decode='beam', beam_width=max(width, k), topk=k)
    recognizer.test_cfg = cfg
    try:
        yield
    finally:
        recognizer.test_cfg = saved


class RecognizerCosts:
    """FLOPs of a plain recognizer at any scale (fvcore, measured on first use).

    Mirrors the part of :class:`~dld.models.distillers.ScaleCosts` that
    inference and reports read; a plain recognizer has no selector, and its
    reference ("teacher") cost is its own at scale 1.0.
    """

    def __init__(self, recognizer: nn.Module, base_size: Tuple[int, int]) -> None:
        from dld.models.distillers import ScaleCosts
        self._costs = ScaleCosts([], base_size, [], 0, 0, student=recognizer,
                                 in_channels=first_conv_in_channels(recognizer))
        self.selector_flops = 0
        self.teacher_flops = self._costs.student_flops_at(1.0)

    def student_flops_at(self, scale: float) -> int:
        return self._costs.student_flops_at(scale)

    def gflops_at(self, scale: float, with_selector: bool = False) -> float:
        return self._costs.gflops_at(scale, with_selector=False)


def first_conv_in_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return 3
