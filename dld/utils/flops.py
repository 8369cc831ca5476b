"""Counting FLOPs and parameters, and the input sizes of each student scale.

FLOPs are counted as the callable runs, once, on real inputs: every ATen
operator that reaches PyTorch's dispatcher is counted by its formula
(:mod:`dld.utils.flop_counter`, no TorchScript; ``DLD_FLOP_COUNTER=fvcore``
traces with fvcore's ``FlopCountAnalysis`` instead, whose figures these are
on every shipped model; where fvcore miscounts, a broadcasting ``matmul`` or
``baddbmm``, the product that runs is counted). **One fused multiply-add counts as one flop** (so a
``Linear(I, O)`` on ``N`` rows is ``N * I * O``, half the "2 x MAC" figure
some papers quote). Like fvcore, we count the ops whose cost grows with the
input (convolutions, matmuls, attention, recurrent cells, norms,
resampling) and ignore cheap element-wise ops (activations, additions,
softmax). Handles here count, as fvcore 0.1.5 does not:

* ``aten::scaled_dot_product_attention`` (``nn.TransformerEncoderLayer``):
  ``N * L * S * (E + Ev)`` for ``QK^T`` and ``AV``;
* ``aten::lstm`` / ``aten::gru`` / ``aten::rnn_tanh`` / ``aten::rnn_relu``:
  every weight matrix is applied once per step, ``steps * sum(w.numel())``;
* ``aten::_upsample_bilinear2d_aa`` (antialiased resize): 4 per output
  element, like fvcore's plain bilinear.
* ``aten::rms_norm`` (``nn.RMSNorm``): as a layer norm, 5 per element (4
  without a weight); it decomposes into ops that count 0.

Element-wise ops count 0 even where they broadcast into an outer product:
``(q[:, :, None] * k[:, None]).sum(-1)`` computes ``q @ k.T`` uncounted.
Write a matrix product as ``matmul``, ``bmm`` or ``einsum`` (counted).

An op that no handle counts and that is not one of the cheap ops of
:data:`NEGLIGIBLE_OPS` is reported once, by name, as a warning: a custom
module's op would otherwise count as 0 FLOPs in every report and in the
selector's costs. A project counts it by adding a handle to
:data:`EXTRA_FLOP_HANDLES` (docs/customize.md).
"""
import contextlib
import functools
import logging
import math
import os
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

from .module_modes import evaluating

Inputs = Union[torch.Tensor, Sequence[Any]]


def scale_input_shapes(base_hw: Tuple[int, int] = (48, 144),
                       scales: Sequence[float] = (1.0, )) -> List[Tuple[int, int]]:
    """``(round(s * H), round(s * W))`` for each scale, each side at least 1.

    This is the one rule for the size of a scale; ``resize_to_scale`` uses it,
    so FLOPs measured on these shapes are the FLOPs the distiller spends.
    Python's ``round`` rounds halves to even (``round(0.5 * 45) == 22``).
    """
    height, width = base_hw
    return [(max(1, round(s * height)), max(1, round(s * width))) for s in scales]


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones once); ``trainable_only`` keeps ``requires_grad``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def count_inference_params(model: nn.Module) -> int:
    """Parameters a reading uses: a recognizer's training-only head
    (``aux_decoder``) left out, as the FLOPs leave it out. A parameter the
    head shares with the rest still counts."""
    aux = getattr(model, 'aux_decoder', None)
    if not isinstance(aux, nn.Module):
        return count_params(model)
    used = {id(p): p for p in model.parameters(recurse=False)}
    for child in model.children():
        if child is not aux:
            used.update((id(p), p) for p in child.parameters())
    return sum(p.numel() for p in used.values())


def count_flops(model_or_callable: Union[nn.Module, Callable[..., Any]], inputs: Inputs,
                uncounted: Optional[set] = None) -> int:
    """FLOPs (fused multiply-adds) of one call.

    Args:
        model_or_callable: an ``nn.Module`` or any callable of tensors (e.g.
            ``recognizer.forward_features``); outputs may be anything.
        inputs: a tensor or a tuple of positional arguments.

    The callable runs once, under ``torch.no_grad``, on ``inputs``, and the
    ATen operators it runs are counted as they run
    (:mod:`dld.utils.flop_counter`; ``DLD_FLOP_COUNTER=fvcore`` traces with
    fvcore instead). The modules the callable uses
    (:func:`modules_called_by`) are put in eval mode meanwhile (so BatchNorm
    statistics do not move and dropout is off) and restored afterwards.
    PyTorch's fused attention fast path
    (``aten::_native_multi_head_attention``, taken in eval mode by frozen or
    no-grad transformers) is switched off so the projections and attention
    are counted as the products they compute. A model whose tensor forward
    is not its cost (``forward_is_not_its_cost``, a ``DLDDistiller``) is
    refused, naming what to count instead.
    ``uncounted``: a set that receives the names of the ops counted as 0
    that are not negligible (:data:`NEGLIGIBLE_OPS`), for a report to say
    its figures leave them out.
    """
    model_or_callable = _uncompiled(model_or_callable)
    if flop_counter() == 'fvcore':
        return _count_flops_fvcore(model_or_callable, inputs, uncounted)
    return int(count_flops_by_module(model_or_callable, inputs, uncounted)[''])


def count_flops_by_module(model_or_callable: Union[nn.Module, Callable[..., Any]],
                          inputs: Inputs, uncounted: Optional[set] = None) -> Dict[str, int]:
    """:func:`count_flops` per module: qualified name (as in the callable's
    modules' ``named_modules()``) -> FLOPs of its calls, ``''`` the total."""
    from .flop_counter import run_counted

    model_or_callable = _uncompiled(model_or_callable)
    inputs, owners = _what_runs(model_or_callable, inputs)
    named = {id(p) for owner in owners for p in owner.parameters()}

    def foreign(param: nn.Parameter) -> None:
        # a module the callable does not name is not in eval mode: refused,
        # as the tracer refused its weights
        if id(param) not in named and param.requires_grad:
            raise _ForeignWeights

    _check_handles()
    # one count at a time: the fast-path switch and the modules' modes are
    # the process's (a re-entrant lock: a handle may count a part)
    with _COUNTING:
        fastpath = torch.backends.mha.get_fastpath_enabled()
        try:
            torch.backends.mha.set_fastpath_enabled(False)
            # under torch.inference_mode the dispatcher hands over conv2d,
            # linear, batch_norm whole (no autograd key to decompose them):
            # counted outside it, on inputs that are not inference tensors
            with contextlib.ExitStack() as modes, torch.inference_mode(False), \
                    torch.no_grad():
                inputs = tuple(_not_inference(v) for v in inputs)
                for owner in owners:
                    modes.enter_context(evaluating(owner))
                try:
                    counter = run_counted(model_or_callable, inputs, owners,
                                          EXTRA_FLOP_HANDLES, NEGLIGIBLE_OPS, foreign)
                except _ForeignWeights:
                    raise TypeError(
                        'count_flops: the callable uses the weights of a module it does not '
                        'name; pass the module, a bound method (model.forward_features) or '
                        'functools.partial(model, ...)') from None
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
    ops = tuple(sorted(counter.uncounted))
    _warn_uncounted(ops)
    if uncounted is not None:
        uncounted.update(ops)
    by_module = dict(counter.by_module)
    by_module.setdefault('', 0)
    return by_module


def _uncompiled(model_or_callable: Any) -> Any:
    """The module a ``torch.compile(module)`` wraps: the counter runs it
    eagerly anyway, and the wrapper's global hooks made PyTorch warn."""
    orig = getattr(model_or_callable, '_orig_mod', None)
    if isinstance(model_or_callable, nn.Module) and isinstance(orig, nn.Module):
        return orig
    return model_or_callable


class _ForeignWeights(Exception):
    pass


def _what_runs(model_or_callable: Any, inputs: Inputs) -> Tuple[tuple, List[nn.Module]]:
    """The positional inputs as a tuple and the modules the callable uses;
    a model whose tensor forward is not its cost refused, naming why."""
    not_its_cost = getattr(model_or_callable, 'forward_is_not_its_cost', None)
    if isinstance(model_or_callable, nn.Module) and not_its_cost:
        raise TypeError(f'count_flops({type(model_or_callable).__name__}): {not_its_cost}')
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs, )
    return tuple(inputs), modules_called_by(model_or_callable)


_COUNTING = threading.RLock()


def _not_inference(value: Any) -> Any:
    """An inference tensor cloned (an in-place op on it fails outside
    ``torch.inference_mode``), inside tuples, lists and dicts too."""
    if isinstance(value, torch.Tensor):
        return value.clone() if value.is_inference() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_not_inference(v) for v in value)
    if isinstance(value, dict):
        return {k: _not_inference(v) for k, v in value.items()}
    return value


#: ``DLD_FLOP_COUNTER``: how FLOPs are counted (fvcore's trace, to check a
#: figure against the counter it replaces).
FLOP_COUNTERS = ('dispatch', 'fvcore')


#: How each counter counts, said beside its figures.
COUNTED_BY = dict(dispatch='by ATen operator as the model runs',
                  fvcore="by fvcore's TorchScript trace (DLD_FLOP_COUNTER=fvcore)")


def flop_counter() -> str:
    """The counter in use, ``'dispatch'`` or ``'fvcore'`` (``DLD_FLOP_COUNTER``),
    recorded beside the figures (a report's ``flop_counter``)."""
    asked = os.environ.get('DLD_FLOP_COUNTER', '').strip().lower() or 'dispatch'
    if asked not in FLOP_COUNTERS:
        raise ValueError(f'DLD_FLOP_COUNTER={asked!r}: one of {", ".join(FLOP_COUNTERS)} '
                         '(unset: dispatch)')
    return asked


def _check_handles() -> None:
    """A handle named after an op that neither the calls as written nor the
    dispatcher show under that name would never count: said, not ignored."""
    _warn_unmet_handles(tuple(sorted(n for n in EXTRA_FLOP_HANDLES if not n.startswith('aten::'))))


@functools.cache
def _warn_unmet_handles(names: Tuple[str, ...]) -> None:
    """Once per process and set of names. A warning, not an error: fvcore's
    ``prim::PythonOp.<Function>`` handles (a custom autograd Function) counted
    there; here the Function's own ATen operators are counted one by one."""
    if names:
        print_log(f'FLOPs: EXTRA_FLOP_HANDLES {", ".join(map(repr, names))} name(s) no ATen '
                  "operator ('aten::<op>', as the FLOPs warning names it): never met here, "
                  'not used (the ops such a call runs are counted one by one; '
                  'DLD_FLOP_COUNTER=fvcore uses them)', logger='current', level=logging.WARNING)


def _count_flops_fvcore(model_or_callable: Union[nn.Module, Callable[..., Any]], inputs: Inputs,
                        uncounted: Optional[set] = None) -> int:
    """FLOPs (fused multiply-adds) of one call, traced with fvcore (the
    fallback, ``DLD_FLOP_COUNTER=fvcore``).

    Args:
        model_or_callable: an ``nn.Module`` or any callable of tensors (e.g.
            ``recognizer.forward_features``); outputs may be tensors or
            nested dicts/lists/tuples of tensors.
        inputs: a tensor or a tuple of positional arguments.

    The modules the callable uses (:func:`modules_called_by`) are put in
    eval mode while tracing (so BatchNorm statistics do not move and
    dropout is off) and restored afterwards;
    tracing runs under ``torch.no_grad``. PyTorch's fused attention fast path
    (``aten::_native_multi_head_attention``, taken in eval mode by frozen or
    no-grad transformers) is switched off while tracing so the projections
    and attention appear as the countable ops they compute. fvcore's warnings
    about ops it ignores and modules called through ``.forward`` are silenced.
    A model whose tensor forward is not its cost (``forward_is_not_its_cost``,
    a ``DLDDistiller``) is refused, naming what to count instead.
    ``uncounted``: a set that receives the names of the ops counted as 0
    that are not negligible (:data:`NEGLIGIBLE_OPS`), for a report to say
    its figures leave them out.
    """
    from fvcore.nn import FlopCountAnalysis

    inputs, owners = _what_runs(model_or_callable, inputs)
    wrapper = _TensorOutputs(model_or_callable, owners)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        torch.backends.mha.set_fastpath_enabled(False)
        with contextlib.ExitStack() as modes, torch.no_grad():
            for owner in owners:
                modes.enter_context(evaluating(owner))
            analysis = FlopCountAnalysis(wrapper, inputs)
            # a handle sees values with .shape and .value, as the dispatch
            # counter gives it (docs/customize.md's example), and torch._C.Value's
            # calls (fvcore's get_shape) too; an error it raises names it
            analysis.set_op_handle(**{name: None if handle is None else
                                      _traced_handle(name, handle)
                                      for name, handle in EXTRA_FLOP_HANDLES.items()})
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings('none')
            try:
                total = int(analysis.total())
            except RuntimeError as err:
                if 'requires grad as a constant' not in str(err):
                    raise
                # the tracer's message lists every weight it met
                raise TypeError(
                    'count_flops: the callable uses the weights of a module it does not '
                    'name; pass the module, a bound method (model.forward_features) or '
                    'functools.partial(model, ...)') from None
            ops = tuple(sorted(set(analysis.unsupported_ops()) - NEGLIGIBLE_OPS))
            _warn_uncounted(ops)
            if uncounted is not None:
                uncounted.update(ops)
            return total
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


class _TracedValue:
    """A traced ``torch._C.Value`` as a handle of the dispatch counter sees
    its arguments (:class:`dld.utils.flop_counter.FlopValue`): ``shape``, a
    complete tensor's (else None), and ``value``, a constant's (a list
    construct's items; None where the trace does not know it, a tensor's).
    Every other attribute is the traced value's (``isCompleteTensor()``,
    ``type().sizes()``, ``node()``: fvcore's handles), so one handle counts
    under both counters."""

    __slots__ = ('_traced', )

    def __init__(self, traced: Any) -> None:
        self._traced = traced

    @property
    def shape(self) -> Optional[List[int]]:
        from fvcore.nn.jit_handles import get_shape
        return get_shape(self._traced)

    @property
    def value(self) -> Any:
        node = self._traced.node()
        if node.kind() == 'prim::ListConstruct':
            return [_TracedValue(v).value for v in node.inputs()]
        try:
            return self._traced.toIValue()
        except RuntimeError:
            return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._traced, name)

    def __repr__(self) -> str:
        return f'_TracedValue({self._traced!r})'


def _traced_handle(name: str, handle: Callable) -> Callable:
    """``handle`` called by fvcore's trace with :class:`_TracedValue` s; an
    error it raises is a ``FlopHandleError`` naming it and ``name``."""
    from .flop_counter import FlopHandleError, handle_error

    @functools.wraps(handle)
    def traced(inputs: List[Any], outputs: List[Any]) -> Any:
        try:
            return handle([_TracedValue(v) for v in inputs],
                          [_TracedValue(v) for v in outputs])
        except FlopHandleError:
            raise
        except Exception as err:
            raise handle_error(name, handle, err) from err
    return traced


def modules_called_by(fn: Any) -> List[nn.Module]:
    """The modules whose weights ``fn`` uses, where it names them: itself,
    a bound method's module, a ``functools.partial``'s, or the modules a
    function or lambda closes over or reads as globals (a notebook's
    ``lambda x: model(x, mode='tensor')``). Unlisted, their weights were
    traced as constants, which the tracer refuses when they require grad."""
    if isinstance(fn, nn.Module):
        return [fn]
    if isinstance(fn, functools.partial):
        return modules_called_by(fn.func) + [
            a for a in (*fn.args, *fn.keywords.values()) if isinstance(a, nn.Module)]
    if isinstance(getattr(fn, '__self__', None), nn.Module):
        return [fn.__self__]
    code, found = getattr(fn, '__code__', None), []
    if code is not None:
        cells = [_cell_contents(c) for c in (fn.__closure__ or ())]
        names = getattr(fn, '__globals__', {})
        found = [v for v in (*cells, *(names.get(n) for n in code.co_names))
                 if isinstance(v, nn.Module)]
    return list({id(m): m for m in found}.values())


def _cell_contents(cell) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a closure variable not yet assigned
        return None


class _TensorOutputs(nn.Module):
    """Calls the wrapped callable and flattens its output to a tuple of tensors.

    The tracer only accepts tensors (or tuples of them) as outputs. The
    modules the callable uses are registered so that fvcore can scope their
    ops and their weights are the traced module's, not constants.
    """

    def __init__(self, fn: Callable[..., Any], owners: Sequence[nn.Module] = ()) -> None:
        super().__init__()
        self.owners = nn.ModuleList(owners)
        self._fn = fn if not isinstance(fn, nn.Module) else None

    def forward(self, *args):
        fn = self._fn if self._fn is not None else self.owners[0]
        return tuple(_flatten_tensors(fn(*args)))


def _flatten_tensors(obj: Any) -> List[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return [t for item in obj for t in _flatten_tensors(item)]
    return []


def _shape(value) -> List[int]:
    """Static shape of a traced jit value (fvcore's ``get_shape``)."""
    from fvcore.nn.jit_handles import get_shape
    return get_shape(value)


def _sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``Q (..., L, E)``, ``K (..., S, E)``, ``V (..., S, Ev)``: ``QK^T`` + ``AV``."""
    query, key, value = (_shape(v) for v in inputs[:3])
    batch = math.prod(query[:-2])
    length, emb = query[-2:]
    src_len, v_emb = key[-2], value[-1]
    return batch * length * src_len * (emb + v_emb)


def _rnn_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Each weight matrix multiplies one vector per time step and sequence.

    ``inputs[0]`` is ``(B, T, I)``/``(T, B, I)`` or packed ``(N, I)``; the
    weights are the 2-D tensors of the list arguments (hidden states are 3-D,
    biases 1-D and ignored like the gate element-wise ops).
    """
    steps = math.prod(_shape(inputs[0])[:-1])
    weights = 0
    for value in inputs[1:]:
        node = value.node()
        if node.kind() != 'prim::ListConstruct':
            continue
        for item in node.inputs():
            shape = _shape(item)
            if shape is not None and len(shape) == 2:
                weights += shape[0] * shape[1]
    return steps * weights


def _conv_mode_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """A convolution of ``padding='same'`` or ``'valid'`` (``aten::_convolution_mode``:
    input, weight, bias, stride, padding, dilation, groups), which fvcore
    does not know: counted as its ``aten::_convolution`` is."""
    from fvcore.nn.jit_handles import conv_flop_count
    return conv_flop_count(_shape(inputs[0]), _shape(inputs[1]), _shape(outputs[0]),
                           transposed=False)


def _upsample_aa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    return 4 * math.prod(_shape(outputs[0]))


@functools.cache
def _warn_uncounted(ops: Tuple[str, ...]) -> None:
    """Once per process and set of ops: which ops counted as 0 FLOPs."""
    if ops:
        print_log(f'FLOPs: no count for {", ".join(ops)}; they count as 0 in FLOPs '
                  'reports and in the selector\'s costs. Add a handle to '
                  'dld.utils.flops.EXTRA_FLOP_HANDLES to count them (docs/customize.md).',
                  logger='current', level=logging.WARNING)


#: Ops that fvcore leaves uncounted and that cost next to nothing beside the
#: convolutions and matrix products: element-wise maths and activations,
#: pooling, norms and other reductions, comparisons, indexing, copies and
#: shape changes.
NEGLIGIBLE_OPS = frozenset(f'aten::{op}' for op in (
    '__and__', '__iand__', '__ior__', '__or__', 'abs', 'adaptive_avg_pool1d',
    'adaptive_max_pool1d', 'adaptive_max_pool2d', 'add', 'add_', 'addcmul', 'all', 'amax',
    'amin', 'any', 'arange', 'argmax', 'argmin', 'avg_pool1d', 'avg_pool2d', 'avg_pool3d',
    'bitwise_and', 'bitwise_not', 'bitwise_or', 'cat', 'ceil', 'celu', 'chunk', 'clamp',
    'clamp_', 'clamp_max', 'clamp_min', 'clone', 'contiguous', 'copy_', 'cos', 'ctc_loss',
    'cumsum', 'detach', 'div', 'div_', 'dropout', 'dropout_', 'elu', 'elu_', 'embedding', 'eq',
    'erf', 'exp', 'exp_', 'expand', 'expand_as', 'feature_dropout', 'fill_', 'flatten', 'flip',
    'floor', 'floor_divide', 'frobenius_norm', 'full', 'full_like', 'gather', 'ge', 'gelu',
    'glu', 'gt', 'hardshrink', 'hardsigmoid', 'hardsigmoid_', 'hardswish', 'hardswish_',
    'hardtanh', 'hardtanh_', 'index', 'index_select', 'isfinite', 'isinf', 'isnan', 'le',
    'leaky_relu', 'leaky_relu_', 'linalg_vector_norm', 'log', 'log_sigmoid', 'log_softmax',
    'logaddexp', 'logical_and', 'logical_not', 'logical_or', 'logsumexp', 'lt', 'masked_fill',
    'masked_fill_', 'max', 'max_pool1d', 'max_pool2d', 'max_pool2d_with_indices', 'max_pool3d',
    'maximum', 'mean', 'min', 'minimum', 'mish', 'mish_', 'mul', 'mul_', 'narrow', 'ne', 'neg',
    'new_full', 'new_ones', 'new_zeros', 'norm', 'one_hot', 'ones', 'ones_like', 'pad',
    'permute', 'pow', 'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'relu_', 'remainder',
    'repeat', 'repeat_interleave', 'reshape', 'round', 'rsqrt', 'rsub', 'scatter', 'select',
    'selu', 'selu_', 'sigmoid', 'sigmoid_', 'sign', 'silu', 'silu_', 'sin', 'slice', 'softmax',
    'softplus', 'softshrink', 'softsign', 'sort', 'split', 'split_with_sizes', 'sqrt', 'square',
    'squeeze', 'stack', 'std', 'std_mean', 'sub', 'sub_', 'sum', 'tanh', 'tanh_', 'tanhshrink',
    'threshold', 'to', 'topk', 'transpose', 'type_as', 'unbind', 'unflatten', 'unsafe_chunk',
    'unsafe_split', 'unsqueeze', 'var', 'var_mean', 'view', 'where', 'zeros', 'zeros_like'))


EXTRA_FLOP_HANDLES = {
    'aten::scaled_dot_product_attention': _sdpa_flop_jit,
    'aten::lstm': _rnn_flop_jit,
    'aten::gru': _rnn_flop_jit,
    'aten::rnn_tanh': _rnn_flop_jit,
    'aten::rnn_relu': _rnn_flop_jit,
    'aten::_upsample_bilinear2d_aa': _upsample_aa_flop_jit,
    'aten::_convolution_mode': _conv_mode_flop_jit,
}
