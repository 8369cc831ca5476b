"""What each candidate scale costs: FLOPs measured once at build time.

A reading decoded greedily and one decoded with a beam search cost
differently: the beam runs an autoregressive decoder on W hypotheses a step.
Both are counted on the path that runs (:class:`ScaleCosts`).
"""
import hashlib
from typing import Dict, FrozenSet, Optional, Sequence, Set, Tuple

import torch
import torch.nn as nn


class _RecognizerInference(nn.Module):
    """Wraps a recognizer so that tracing runs its inference path (greedy)."""

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.recognizer = recognizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.recognizer(x, mode='tensor')


class _RecognizerEncoder(nn.Module):
    """Wraps a recognizer so that tracing runs its backbone and encoder only
    (a few operators: the decoder's unrolled steps take most of a trace)."""

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.recognizer = recognizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.recognizer.forward_encoder(x)['encoder_out']


class _RecognizerBeamSearch(nn.Module):
    """Wraps a recognizer so that tracing runs its beam search of width W, in full.

    An autoregressive search stops once no open hypothesis can beat the k-th
    finished one; asked for more hypotheses than it can finish before its
    last step, it never stops early, so the trace runs the decoder on all W
    hypotheses at every one of its ``max_seq_len`` steps: the most a reading
    can cost. A CTC search has no early stop (one step per frame).
    """

    def __init__(self, recognizer: nn.Module, beam_width: int) -> None:
        super().__init__()
        self.recognizer = recognizer
        self.beam_width = int(beam_width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = int(getattr(self.recognizer.decoder, 'max_seq_len', 1))
        _, scores = self.recognizer.beam_search(x, self.beam_width,
                                                self.beam_width * steps + 1)
        return scores


def beam_width_of(recognizer: nn.Module) -> Optional[int]:
    """The width of the beam search ``recognizer`` decodes with now (its
    ``test_cfg``, as :func:`dld.apis.decoding` may have switched it), or
    None when it decodes greedily."""
    cfg = getattr(recognizer, 'test_cfg', None) or {}
    if cfg.get('decode') != 'beam':
        return None
    return int(cfg.get('beam_width') or recognizer.decoder.beam_width)


# A count runs the whole inference path (an autoregressive decoder step by
# step), which takes a second or so; a FLOP count depends only on
# the architecture and the input shape, so it is measured once per process.
_FLOPS_CACHE: Dict[Tuple[str, Tuple[int, ...], str], Tuple[int, FrozenSet[str]]] = {}


def _measure(module: nn.Module, shape: Tuple[int, ...], values: str = 'zeros',
             uncounted: Optional[Set[str]] = None) -> int:
    """FLOPs of ``module`` on an input of ``shape``: all zeros (the count
    DLD reports), or another of :data:`PROBES` (to tell a cost that depends
    on the image's values, :func:`_warn_if_values_matter`).
    ``uncounted`` receives the ops the count leaves out (cached with it)."""
    # a digest: the signature of a whole model is tens of kilobytes a key
    key = (hashlib.sha1(_signature(module).encode()).hexdigest(), tuple(shape), values)
    if key not in _FLOPS_CACHE:
        ops: Set[str] = set()
        _FLOPS_CACHE[key] = (_count(module, shape, values, ops), frozenset(ops))
    flops, ops = _FLOPS_CACHE[key]
    if uncounted is not None:
        uncounted.update(ops)
    return flops


#: The images besides the all-zero one a part's cost is traced on: random
#: texture over the darkest and the brightest fifth of a normalised input's
#: range ([-1, -0.6], [0.6, 1]), so that a gate on the mean within +-0.8 or
#: on the contrast (a sharpness test: a standard deviation below 0.11) takes
#: another path on one of them. A heuristic: a gate past those is missed.
PROBES = ('dark', 'bright')

def convention() -> str:
    """How the figures count, said beside them (``as_dict``, get_flops.py)."""
    from dld.utils.flops import COUNTED_BY, flop_counter
    return (f'one fused multiply-add counts as one flop (as fvcore counts; counted '
            f'{COUNTED_BY[flop_counter()]})')


def _warn_if_values_matter(module: nn.Module, shape: Tuple[int, ...], part: str) -> None:
    """Warn where ``module`` costs otherwise on another image of the same
    size: code that branches on the image's values (an early exit, a
    quality gate) is counted down one path, and every figure would be that
    path's, the all-zero image's, without a word."""
    zeros = _measure(module, shape)
    # the probes traced lazily: the first that differs is enough
    other = next((f for f in (_measure(module, shape, p) for p in PROBES) if f != zeros), zeros)
    if zeros != other:
        from mmengine.logging import print_log
        print_log(f'FLOPs of the {part}: {zeros / 1e9:.6f} GFLOPs on an all-zero image of '
                  f'{tuple(shape[-2:])}, {other / 1e9:.6f} on another: its code branches on '
                  "the image's values, and the count is one path's (the all-zero "
                  "image's), which the selector's penalty, the reports and inference's gflops "
                  'use. Count such a part yourself (docs/customize.md, "FLOPs of your '
                  'modules").',
                  logger='current', level=30)


def _plain(value) -> bool:
    """A value whose ``repr`` is its content: a number, string, bool or None,
    or a list, tuple, set or dict of such (a thumbnail size kept as the list
    a config or ``--cfg-options`` gave, a dict of settings)."""
    if value is None or isinstance(value, (int, float, str, bool)):
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def _signature(module: nn.Module) -> str:
    """Structure plus every plain hyper-parameter (e.g. a decoder's max
    length, a selector's thumbnail size, in whatever container it is kept)."""
    parts = [repr(module)]
    for name, m in module.named_modules():
        hparams = {k: v for k, v in vars(m).items()
                   if not k.startswith('_') and k != 'training'
                   and (isinstance(v, tuple) or _plain(v))}  # any tuple, as before
        parts.append(f'{name}:{sorted(hparams.items())}')
    return '\n'.join(parts)


def _count(module: nn.Module, shape: Tuple[int, ...], values: str = 'zeros',
           uncounted: Optional[Set[str]] = None) -> int:
    from dld.utils.flops import count_flops
    from dld.utils.module_modes import evaluating
    device = next(module.parameters()).device
    if values == 'zeros':
        inputs = torch.zeros(shape, device=device)
    else:  # the same image every time, the global random state untouched
        noise = 0.4 * torch.rand(shape, generator=torch.Generator().manual_seed(0))
        inputs = (noise + (-1.0 if values == 'dark' else 0.6)).to(device)
    # A count may be asked for mid-inference, under mixed precision: trace in
    # float32 (the count depends on shapes only).
    with evaluating(module), torch.no_grad(), torch.autocast(device.type, enabled=False):
        return int(count_flops(module, inputs, uncounted))


class ScaleCosts:
    """Forward FLOPs of the student at each scale, of the selector, and of the teacher.

    One fused multiply-add counts as one flop. The selector's cost is
    added to every selected-scale figure, since it runs on every image.

    ``student_flops`` (and :meth:`greedy_flops_at`, :meth:`relative_flops`,
    ``teacher_flops``) are the costs of greedy decoding. What a reading
    costs as the student decodes *now* is :meth:`student_flops_at`: with
    ``test_cfg.decode='beam'`` (a config's, or ``--beam-width``) it is the
    traced beam search of that width (:meth:`beam_flops_at`): backbone and
    encoder once, the decoder on every hypothesis at every step, never
    stopping early. That is an upper bound for an attention decoder, whose
    search may end before ``max_seq_len`` steps, and exact for CTC, whose
    classifier runs once whatever the width (its search adds only the
    product of its prefix merge, ``W x W x classes`` per frame).

    The selector's training penalty (:meth:`relative_flops`) keeps greedy
    costs: the decoding is picked at inference, after the selector is
    trained, and the teacher it is measured against decodes greedily too.
    """

    def __init__(self, scales: Sequence[float], base_size: Tuple[int, int],
                 student_flops: Sequence[int], selector_flops: int, teacher_flops: int,
                 student: Optional[nn.Module] = None, in_channels: int = 3) -> None:
        self.scales = [float(s) for s in scales]
        self.base_size = tuple(base_size)
        self.student_flops = {s: int(f) for s, f in zip(self.scales, student_flops)}
        self.selector_flops = int(selector_flops)
        self.teacher_flops = int(teacher_flops)
        self.beam_flops: Dict[Tuple[int, int, int], int] = {}  # (h, w, width)
        self._flops_by_size: Dict[Tuple[int, int], int] = {}  # other scales, greedy
        self._student = student
        self._in_channels = in_channels
        #: ops counted as 0 in this model's figures (a part of one's own)
        self.uncounted_ops: Set[str] = set()

    @classmethod
    def of_recognizer(cls, recognizer: nn.Module, base_size: Tuple[int, int],
                      in_channels: int = 3) -> 'ScaleCosts':
        """The costs of a plain recognizer reading at scales of
        ``base_size`` (no selector, no teacher: measured when asked)."""
        return cls([], base_size, [], 0, 0, student=recognizer, in_channels=in_channels)

    @classmethod
    def measure(cls, student: nn.Module, teacher: nn.Module, selector: Optional[nn.Module],
                scales: Sequence[float], base_size: Tuple[int, int],
                in_channels: int = 3) -> 'ScaleCosts':
        from dld.utils.flop_counter import FlopHandleError
        from dld.utils.flops import flop_counter, scale_input_shapes
        flop_counter()  # a DLD_FLOP_COUNTER mistyped: said as it is, not as the student's fault
        shapes = scale_input_shapes(base_size, scales)
        s_wrap = _RecognizerInference(student)
        student_flops = []
        uncounted: Set[str] = set()
        for scale, (h, w) in zip(scales, shapes):
            try:
                student_flops.append(_measure(s_wrap, (1, in_channels, h, w),
                                              uncounted=uncounted))
            except FlopHandleError:  # a project's handle raised, not the student
                raise
            except Exception as err:  # a backbone whose kernels outgrow a small input, say
                from .distiller_checks import PartContractError
                said = str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
                outgrown = 'size' in said.lower() or 'shape' in said.lower()
                why = ('its layers outgrow an input that small: give model.scales no scale '
                       'below the smallest it reads, or a backbone whose kernels and strides '
                       'fit it' if outgrown else
                       'it must also run on an all-zero image of that size, on which its '
                       'FLOPs are counted')
                raise PartContractError(
                    f'The student cannot read scale {scale} of {tuple(base_size)} (a {h}x{w} '
                    f'input), run for its FLOPs: {type(err).__name__}: {said}. A student '
                    f'reads every candidate scale; {why}') from err  # DLD_TRACEBACK=1: its line
        teacher_flops = _measure(_RecognizerInference(teacher), (1, in_channels, *base_size),
                                 uncounted=uncounted)
        selector_flops = 0 if selector is None else _measure(
            selector, (1, in_channels, *base_size), uncounted=uncounted)
        # the parts of one's own most likely to gate on the image traced on
        # other images: the selector, the student's backbone and encoder (an
        # early exit) at its cheapest scale, and the teacher's
        if selector is not None:
            _warn_if_values_matter(selector, (1, in_channels, *base_size), 'selector')
        if len(shapes) and hasattr(student, 'forward_encoder'):
            smallest = min(shapes, key=lambda hw: hw[0] * hw[1])
            _warn_if_values_matter(_RecognizerEncoder(student), (1, in_channels, *smallest),
                                   "student's backbone and encoder")
        if hasattr(teacher, 'forward_encoder'):  # every 'saved' figure's reference
            _warn_if_values_matter(_RecognizerEncoder(teacher), (1, in_channels, *base_size),
                                   "teacher's backbone and encoder")
        costs = cls(scales, base_size, student_flops, selector_flops, teacher_flops,
                    student=student, in_channels=in_channels)
        costs.uncounted_ops |= uncounted
        return costs

    def student_flops_at(self, scale: float) -> int:
        """FLOPs of one reading at ``scale``, decoded as the student decodes now
        (:func:`beam_width_of`): greedily, or with its beam search in full."""
        width = None if self._student is None else beam_width_of(self._student)
        if width is None:
            return self.greedy_flops_at(scale)
        return self.beam_flops_at(scale, width)

    def greedy_flops_at(self, scale: float) -> int:
        """FLOPs of one reading at ``scale`` decoded greedily."""
        scale = float(scale)
        if scale in self.student_flops:
            return self.student_flops[scale]
        if self._student is None:
            raise KeyError(f'No FLOPs measured for scale {scale}.')
        # Other scales by the input size they give: a service forcing many
        # scales (0.8, 0.7999999...) traces each size once, keeps one int.
        from dld.utils.flops import scale_input_shapes
        (h, w), = scale_input_shapes(self.base_size, [scale])
        if (h, w) not in self._flops_by_size:
            self._flops_by_size[(h, w)] = _measure(
                _RecognizerInference(self._student), (1, self._in_channels, h, w),
                uncounted=self.uncounted_ops)
        return self._flops_by_size[(h, w)]

    def beam_flops_at(self, scale: float, beam_width: int) -> int:
        """FLOPs of one reading at ``scale`` decoded by a beam search of width
        ``beam_width``, traced in full (see the class)."""
        if self._student is None:
            raise KeyError(f'No student to measure a beam of {beam_width} at {scale}.')
        from dld.utils.flops import scale_input_shapes
        (h, w), = scale_input_shapes(self.base_size, [float(scale)])
        key = (h, w, int(beam_width))
        if key not in self.beam_flops:
            self.beam_flops[key] = _measure(_RecognizerBeamSearch(self._student, key[2]),
                                            (1, self._in_channels, h, w),
                                            uncounted=self.uncounted_ops)
        return self.beam_flops[key]

    def gflops_at(self, scale: float, with_selector: bool = True) -> float:
        flops = self.student_flops_at(scale) + (self.selector_flops if with_selector else 0)
        return flops / 1e9

    def relative_flops(self) -> torch.Tensor:
        """(k,) (T_i + T_selector) / T_teacher for the candidate scales, greedy."""
        return torch.tensor([
            (self.student_flops[s] + self.selector_flops) / self.teacher_flops
            for s in self.scales], dtype=torch.float)

    def as_dict(self) -> Dict[str, object]:
        return dict(
            convention=convention(),
            scales=self.scales,
            student_gflops=[self.student_flops[s] / 1e9 for s in self.scales],
            selector_gflops=self.selector_flops / 1e9,
            teacher_gflops=self.teacher_flops / 1e9)
