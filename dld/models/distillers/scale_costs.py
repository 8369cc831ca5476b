"""What each candidate scale costs: fvcore FLOPs measured once at build time."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn


class _RecognizerInference(nn.Module):
    """Wraps a recognizer so that tracing runs its inference path (greedy)."""

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.recognizer = recognizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.recognizer(x, mode='tensor')


# fvcore traces the whole inference path (an autoregressive decoder is
# unrolled step by step), which takes seconds; a FLOP count depends only on
# the architecture and the input shape, so it is measured once per process.
_FLOPS_CACHE: Dict[Tuple[str, Tuple[int, ...]], int] = {}


def _measure(module: nn.Module, shape: Tuple[int, ...]) -> int:
    key = (_signature(module), tuple(shape))
    if key not in _FLOPS_CACHE:
        _FLOPS_CACHE[key] = _count(module, shape)
    return _FLOPS_CACHE[key]


def _signature(module: nn.Module) -> str:
    """Structure plus every plain hyper-parameter (e.g. a decoder's max length)."""
    parts = [repr(module)]
    for name, m in module.named_modules():
        hparams = {k: v for k, v in vars(m).items()
                   if not k.startswith('_') and k != 'training'
                   and isinstance(v, (int, float, str, bool, tuple))}
        parts.append(f'{name}:{sorted(hparams.items())}')
    return '\n'.join(parts)


def _count(module: nn.Module, shape: Tuple[int, ...]) -> int:
    from dld.utils.flops import count_flops
    from dld.utils.module_modes import evaluating
    device = next(module.parameters()).device
    with evaluating(module), torch.no_grad():
        return int(count_flops(module, torch.zeros(shape, device=device)))


class ScaleCosts:
    """Forward FLOPs of the student at each scale, of the selector, and of the teacher.

    fvcore counts one fused multiply-add as one flop. The selector's cost is
    added to every selected-scale figure, since it runs on every image.
    """

    def __init__(self, scales: Sequence[float], base_size: Tuple[int, int],
                 student_flops: Sequence[int], selector_flops: int, teacher_flops: int,
                 student: Optional[nn.Module] = None, in_channels: int = 3) -> None:
        self.scales = [float(s) for s in scales]
        self.base_size = tuple(base_size)
        self.student_flops = {s: int(f) for s, f in zip(self.scales, student_flops)}
        self.selector_flops = int(selector_flops)
        self.teacher_flops = int(teacher_flops)
        self._student = student
        self._in_channels = in_channels

    @classmethod
    def measure(cls, student: nn.Module, teacher: nn.Module, selector: Optional[nn.Module],
                scales: Sequence[float], base_size: Tuple[int, int],
                in_channels: int = 3) -> 'ScaleCosts':
        from dld.utils.flops import scale_input_shapes
        shapes = scale_input_shapes(base_size, scales)
        s_wrap = _RecognizerInference(student)
        student_flops = [_measure(s_wrap, (1, in_channels, h, w)) for h, w in shapes]
        teacher_flops = _measure(_RecognizerInference(teacher), (1, in_channels, *base_size))
        selector_flops = 0 if selector is None else _measure(
            selector, (1, in_channels, *base_size))
        return cls(scales, base_size, student_flops, selector_flops, teacher_flops,
                   student=student, in_channels=in_channels)

    def student_flops_at(self, scale: float) -> int:
        scale = float(scale)
        if scale not in self.student_flops:
            if self._student is None:
                raise KeyError(f'No FLOPs measured for scale {scale}.')
            from dld.utils.flops import scale_input_shapes
            (h, w), = scale_input_shapes(self.base_size, [scale])
            self.student_flops[scale] = _measure(
                _RecognizerInference(self._student), (1, self._in_channels, h, w))
        return self.student_flops[scale]

    def gflops_at(self, scale: float, with_selector: bool = True) -> float:
        flops = self.student_flops_at(scale) + (self.selector_flops if with_selector else 0)
        return flops / 1e9

    def relative_flops(self) -> torch.Tensor:
        """(k,) (T_i + T_selector) / T_teacher for the candidate scales."""
        return torch.tensor([
            (self.student_flops[s] + self.selector_flops) / self.teacher_flops
            for s in self.scales], dtype=torch.float)

    def as_dict(self) -> Dict[str, object]:
        return dict(
            convention='fvcore: one fused multiply-add counts as one flop',
            scales=self.scales,
            student_gflops=[self.student_flops[s] / 1e9 for s in self.scales],
            selector_gflops=self.selector_flops / 1e9,
            teacher_gflops=self.teacher_flops / 1e9)

    def table_rows(self) -> List[List[object]]:
        return [[s, self.student_flops[s] / 1e9,
                 (self.student_flops[s] + self.selector_flops) / self.teacher_flops]
                for s in self.scales]
