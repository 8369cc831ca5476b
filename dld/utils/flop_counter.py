"""FLOPs counted as the callable runs, at the level of ATen operators, with no
TorchScript (``torch.jit.trace``, on which fvcore rests, is deprecated).

One call runs under ``torch.no_grad`` on the real inputs inside a
``TorchDispatchMode``: every operator that reaches the dispatcher is seen
with its real arguments, after PyTorch's composite operators were
decomposed (``aten::linear`` arrives as ``aten::addmm``/``aten::mm``,
``aten::einsum`` and ``aten::matmul`` as ``aten::bmm``/``aten::mm``, an LSTM
on CPU as ``aten::mkldnn_rnn_layer``, on CUDA as ``aten::_cudnn_rnn``, a GRU
on CPU as its cells' ``addmm``). The counts keep fvcore's convention (one
fused multiply-add is one flop) and its figure for each op family.

A thin ``TorchFunctionMode`` above it sees the calls as written
(``torch.cdist``, ``F.adaptive_avg_pool2d``): a handle named after such a
call (``aten::cdist``, a composite that never reaches the dispatcher)
counts it whole, the operators it decomposes into left uncounted, and an
uncounted operator is named after the call it came from where that call is
an ATen operator (``aten::cdist``, not ``aten::_cdist_forward``), the name
fvcore gave it.
"""
import math
import threading
import traceback
from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

Handle = Callable[[List[Any], List[Any]], Any]


class FlopHandleError(ValueError):
    """A FLOP handle (a project's, in ``EXTRA_FLOP_HANDLES``) raised as it
    counted: said with the operator it counts and the handle's file and line,
    not as the model's failure to run (which the caller would otherwise
    report: a student that cannot read a scale)."""


def handle_error(name: str, handle: Handle, err: Exception) -> FlopHandleError:
    """``err``, raised by ``handle`` counting ``name``, as a
    :class:`FlopHandleError` naming both and where the handle raised."""
    from .shown_paths import below
    # a function's code, else a callable object's __call__'s
    code = getattr(handle, '__code__', None) or getattr(
        vars(type(handle)).get('__call__'), '__code__', None)
    where = ''
    if code is not None:
        line = code.co_firstlineno
        for frame in traceback.extract_tb(err.__traceback__):
            if frame.filename == code.co_filename:  # the handle's own line that raised
                line = frame.lineno
        where = f' ({below(code.co_filename)}:{line})'
    said = str(err).strip().splitlines()[-1] if str(err).strip() else ''
    return FlopHandleError(
        f"FLOPs: the handle of {name} (dld.utils.flops.EXTRA_FLOP_HANDLES), "
        f"{getattr(handle, '__qualname__', type(handle).__name__)}{where}, raised "
        f"{type(err).__name__}: {said}. A handle receives the call's arguments and results "
        "as values with .shape (a tensor's shape, else None) and .value "
        '(docs/customize.md, "FLOPs of your modules").')


# --------------------------------------------------------------- the values
class FlopValue:
    """An argument or result of an operator, as a handle receives it.

    ``value`` is the real object (a tensor, a list, a number, None) and
    ``shape`` a tensor's shape (None otherwise). It also answers the part of
    TorchScript's ``torch._C.Value`` that fvcore's handles use
    (``isCompleteTensor()``, ``type().sizes()``, ``toIValue()``,
    ``node().kind()``/``node().inputs()`` of a list), so that a handle
    written for fvcore (``fvcore.nn.jit_handles.get_shape(v)``) counts
    unchanged.
    """

    __slots__ = ('value', )

    def __init__(self, value: Any) -> None:
        self.value = value

    @property
    def shape(self) -> Optional[List[int]]:
        return list(self.value.shape) if isinstance(self.value, torch.Tensor) else None

    # the jit.Value look-alike
    def isCompleteTensor(self) -> bool:  # noqa: N802 - TorchScript's name
        return isinstance(self.value, torch.Tensor)

    def type(self) -> '_FlopType':
        return _FlopType(self.value)

    def toIValue(self) -> Any:  # noqa: N802
        return self.value

    def node(self) -> '_FlopNode':
        return _FlopNode(self.value)

    def debugName(self) -> str:  # noqa: N802
        return type(self.value).__name__

    def __repr__(self) -> str:
        return f'FlopValue({self.shape if self.shape is not None else self.value!r})'


class _FlopType:
    def __init__(self, value: Any) -> None:
        self._value = value

    def sizes(self) -> Optional[List[int]]:
        return list(self._value.shape) if isinstance(self._value, torch.Tensor) else None

    def scalarType(self) -> Optional[str]:  # noqa: N802
        return str(self._value.dtype).split('.')[-1] if isinstance(
            self._value, torch.Tensor) else None


class _FlopNode:
    def __init__(self, value: Any) -> None:
        self._value = value

    def kind(self) -> str:
        if isinstance(self._value, (list, tuple)):
            return 'prim::ListConstruct'
        return 'prim::Param' if isinstance(self._value, torch.Tensor) else 'prim::Constant'

    def inputs(self) -> List[FlopValue]:
        items = self._value if isinstance(self._value, (list, tuple)) else ()
        return [FlopValue(v) for v in items]


def _schema_inputs(func, args: Sequence[Any], kwargs: Dict[str, Any]) -> List[Any]:
    """The arguments in the schema's order, defaults filled (as a traced node's)."""
    schema = getattr(func, '_schema', None)
    if schema is None:
        return list(args) + list(kwargs.values())
    values = list(args)
    for arg in schema.arguments[len(values):]:
        if arg.name in kwargs:
            values.append(kwargs[arg.name])
        elif arg.has_default_value():
            values.append(arg.default_value)
        else:
            values.append(None)
    return values


def _as_list(out: Any) -> List[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _shape(value: Any) -> List[int]:
    return list(value.shape)


def _numel(value: Any) -> int:
    return math.prod(value.shape)


# ------------------------------------------------------- built-in handles
# Each receives the real inputs (schema order) and outputs; returns MACs.
def _mm(i, o):         # (n, k) @ (k, m)
    (n, k), m = _shape(i[0]), _shape(i[1])[-1]
    return n * k * m


def _addmm(i, o):      # bias + (n, k) @ (k, m): the bias is not counted (fvcore)
    return _mm(i[1:3], o)


def _bmm(i, o):        # (b, n, k) @ (b, k, m)
    b, n, k = _shape(i[0])
    return b * n * k * _shape(i[1])[-1]


def _baddbmm(i, o):
    return _bmm(i[1:3], o)


def _mv(i, o):         # (n, k) @ (k,)
    return _numel(i[0])


def _addmv(i, o):
    return _numel(i[1])


def _dot(i, o):
    return _numel(i[0])


def _conv(i, o):       # input, weight, bias, stride, padding, dilation, transposed, ...
    x, w, out = _shape(i[0]), _shape(i[1]), _shape(o[0])
    transposed = bool(i[6]) if len(i) > 6 and isinstance(i[6], bool) else False
    batch = x[0] if len(x) == len(w) else 1  # an unbatched conv: (C, H, W)
    spatial = (x if transposed else out)[-(len(w) - 2):]
    return batch * math.prod(w) * math.prod(spatial)


def _affine_norm(weight_index: int):
    def count(i, o):
        return _numel(i[0]) * (5 if i[weight_index] is not None else 4)
    return count


def _batch_norm(training_index):
    """fvcore: in training (batch statistics), a norm's 5 (4 without affine)
    per element; in eval 2 (1), the affine alone. ``training_index``: the
    argument that says which, or the answer (an op of one mode)."""
    def count(i, o):
        training = training_index if isinstance(training_index, bool) else bool(
            i[training_index])
        affine = i[1] is not None
        return _numel(i[0]) * ((5 if affine else 4) if training else (2 if affine else 1))
    return count


def _per_output(k: int):
    def count(i, o):
        return k * _numel(o[0])
    return count


def _per_input(i, o):
    return _numel(i[0])


def _attention(layout: str):
    """``Q (..., L, E)``, ``K (..., S, E)``, ``V (..., S, Ev)``: ``QK^T`` + ``AV``
    (``layout='blhe'``: the ``(B, L, H, E)`` of the memory-efficient kernels)."""
    def count(i, o):
        q, k, v = _shape(i[0]), _shape(i[1]), _shape(i[2])
        if layout == 'blhe':
            q, k, v = ([*s[:-3], s[-2], s[-3], s[-1]] for s in (q, k, v))
        return math.prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])
    return count


def _rms_norm(i, o):     # input, normalized_shape, weight, eps: as a layer norm
    weighted = any(isinstance(v, torch.Tensor) for v in i[1:])
    return _numel(i[0]) * (5 if weighted else 4)


def _rnn_weights(weights: Iterable[Any]) -> int:
    return sum(_numel(w) for w in weights if isinstance(w, torch.Tensor) and w.dim() == 2)


def _steps(x: torch.Tensor) -> int:
    """Time steps x sequences: ``(T, B, I)``/``(B, T, I)``, or packed ``(N, I)``."""
    return math.prod(x.shape[:-1])


def _mkldnn_rnn_layer(i, o):  # input, w_ih, w_hh, b_ih, b_hh, hx, cx, reverse, batch_sizes, ...
    return _steps(i[0]) * _rnn_weights(i[1:3])


def _cudnn_rnn(i, o):         # input, weights (list), weight_stride0, weight_buf, hx, cx, ...
    return _steps(i[0]) * _rnn_weights(i[1])


#: The operators counted, by the name that reaches the dispatcher (the
#: decomposition of fvcore's ``aten::linear``, ``aten::matmul``,
#: ``aten::einsum``, ``aten::batch_norm``, ``aten::lstm``, ... included).
DISPATCH_HANDLES: Dict[str, Handle] = {
    'aten::mm': _mm, 'aten::addmm': _addmm, 'aten::bmm': _bmm, 'aten::baddbmm': _baddbmm,
    'aten::mv': _mv, 'aten::addmv': _addmv, 'aten::dot': _dot, 'aten::vdot': _dot,
    'aten::convolution': _conv, 'aten::_convolution': _conv,
    'aten::native_batch_norm': _batch_norm(5),
    'aten::_native_batch_norm_legit': _batch_norm(5),
    'aten::_native_batch_norm_legit_no_training': _batch_norm(False),
    'aten::_batch_norm_no_update': _batch_norm(False),
    'aten::_batch_norm_with_update': _batch_norm(True),
    'aten::cudnn_batch_norm': _batch_norm(5), 'aten::miopen_batch_norm': _batch_norm(5),
    'aten::native_layer_norm': _affine_norm(2), 'aten::native_group_norm': _affine_norm(1),
    'aten::_fused_rms_norm': _rms_norm,
    'aten::upsample_nearest2d': _per_output(1), 'aten::upsample_bilinear2d': _per_output(4),
    'aten::_upsample_bilinear2d_aa': _per_output(4),
    'aten::_adaptive_avg_pool2d': _per_input, 'aten::adaptive_avg_pool2d': _per_input,
    'aten::grid_sampler_2d': _per_output(4), 'aten::grid_sampler_3d': _per_output(4),
    'aten::cudnn_grid_sampler': _per_output(4),
    'aten::_scaled_dot_product_flash_attention_for_cpu': _attention('bhle'),
    'aten::_scaled_dot_product_flash_attention': _attention('bhle'),
    'aten::_scaled_dot_product_efficient_attention': _attention('bhle'),
    'aten::_scaled_dot_product_cudnn_attention': _attention('bhle'),
    'aten::_scaled_dot_product_fused_attention_overrideable': _attention('bhle'),
    'aten::_flash_attention_forward': _attention('blhe'),
    'aten::_efficient_attention_forward': _attention('blhe'),
    'aten::mkldnn_rnn_layer': _mkldnn_rnn_layer,
    'aten::_cudnn_rnn': _cudnn_rnn, 'aten::miopen_rnn': _cudnn_rnn,
}

#: Calls counted whole, as written (none built in: a project's handle named
#: after a composite, ``aten::cdist``, is looked up here too).
FUNCTION_HANDLES: Dict[str, Handle] = {
    # F.rms_norm decomposes into pow, mean, rsqrt and mul, all negligible:
    # counted as the layer norm it replaces (fvcore named it uncounted)
    'aten::rms_norm': _rms_norm}

#: The calls whose ``aten::mean`` is an ``adaptive_avg_pool2d`` to 1x1.
_POOLS = frozenset(('adaptive_avg_pool2d', 'interpolate'))

#: Operators that only a decomposition shows (views, allocations, the
#: in-place and internal forms of cheap ops): negligible like
#: ``dld.utils.flops.NEGLIGIBLE_OPS``, which names them as fvcore saw them.
DISPATCH_NEGLIGIBLE = frozenset(f'aten::{op}' for op in (
    '_adaptive_avg_pool2d_backward', '_cudnn_rnn_flatten_weight', '_index_put_impl_',
    '_local_scalar_dense', '_log_softmax', '_reshape_alias', '_softmax', '_to_copy',
    '_unsafe_view', 'addcmul_', 'alias', 'arange', 'as_strided', 'clamp_min_', 'copy',
    'div_', 'empty', 'empty_like', 'empty_strided', 'exp_', 'fill', 'index_put', 'index_put_',
    'lift_fresh', 'lift_fresh_copy', 'log_', 'logical_and_', 'masked_fill', 'max_pool2d',
    'native_dropout', 'new_empty', 'new_empty_strided', 'resize_', 'scalar_tensor',
    'scatter_', 'sigmoid_', 'split_with_sizes', 'sub_', 't', 'tanh_', 'transpose_',
    'unsqueeze_', 'squeeze_', 'zero_', 'lt_', 'gt_', 'ne_', 'eq_', 'bitwise_not_',
    'logical_or_', 'logical_not_', 'where', 'sqrt_', 'rsqrt_', 'neg_', 'abs_', 'pow_',
    'reciprocal_', 'floor_', 'ceil_', 'round_', 'clamp_', 'masked_fill_', 'fill_', 'relu_',
    'max_pool2d_with_indices', 'rand', 'randn', 'normal_', 'uniform_', 'bernoulli_',
    'triu', 'tril', 'triu_', 'tril_',
    # adaptive_avg_pool2d to 1x1 of a channels-last map; SDPA's math path; a copy
    'as_strided_', '_safe_softmax', 'roll'))

#: Namespaces of operators that compute nothing: the profiler's ranges
#: (``record_function`` in DataParallel's and DDP's forward).
_NEGLIGIBLE_NAMESPACES = ('profiler::', )


# ------------------------------------------------------------- the modes
class FlopCounter(TorchDispatchMode):
    """Counts the operators that run inside it (see the module).

    ``handles``: name -> handle of real values (``DISPATCH_HANDLES``);
    ``extra``: name -> handle of :class:`FlopValue` s (a project's,
    ``EXTRA_FLOP_HANDLES``), taking precedence. ``by_module`` holds the
    count of each module (qualified name, ``''`` the total) once
    :meth:`track` named them; ``uncounted`` the ops counted as 0.
    """

    def __init__(self, extra: Optional[Dict[str, Handle]] = None,
                 negligible: Iterable[str] = (), foreign: Optional[Callable] = None) -> None:
        super().__init__()
        self.extra = dict(extra or {})
        self.negligible = frozenset(negligible) | DISPATCH_NEGLIGIBLE
        self.foreign = foreign       # called with a Parameter no named module owns
        self.by_module: Counter = Counter()
        self.uncounted: Set[str] = set()
        self.suppressed = 0          # inside a call counted whole
        self.context: Optional[str] = None  # the ATen name of the call running
        self.call: Optional[str] = None     # the name of the call running
        self.in_handle = 0           # a handle runs: its own ops (a count_flops) are not ours
        self._names: Dict[int, str] = {}
        self._stack: List[str] = []
        self._thread = threading.get_ident()  # the module hooks are global: ours only

    # modules
    def track(self, modules: Sequence[nn.Module]) -> None:
        for module in modules:
            for name, m in module.named_modules():
                self._names.setdefault(id(m), name)

    def _pre(self, module, args):
        if threading.get_ident() == self._thread and not self.in_handle:
            self._stack.append(self._names.get(id(module), None))

    def _post(self, module, args, out):
        if threading.get_ident() == self._thread and not self.in_handle and self._stack:
            self._stack.pop()

    def run_handle(self, handle: Handle, inputs: List[Any], outputs: List[Any],
                   extra_name: Optional[str] = None) -> Any:
        """``handle(inputs, outputs)``, what it runs (a ``count_flops`` of a
        part) neither counted nor checked by this counter. ``extra_name``:
        the operator a project's handle (``EXTRA_FLOP_HANDLES``) counts; an
        error that one raises is a :class:`FlopHandleError` naming both (one
        of DLD's own handles raises as it is)."""
        self.in_handle += 1
        try:
            return handle(inputs, outputs)
        except FlopHandleError:  # a part's handle, counted inside this one
            raise
        except Exception as err:
            if extra_name is None:
                raise
            raise handle_error(extra_name, handle, err) from err
        finally:
            self.in_handle -= 1

    def add(self, name: str, flops: int) -> None:
        flops = int(flops)
        self.by_module[''] += flops
        # fvcore's scopes: every prefix of a module's name (a ModuleList
        # that is indexed, never called, holds its items' counts too)
        scopes = {'.'.join(parts[:n]) for s in self._stack if s
                  for parts in [s.split('.')] for n in range(1, len(parts) + 1)}
        for scope in scopes:
            self.by_module[scope] += flops

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.in_handle:
            return func(*args, **kwargs)
        if self.foreign is not None:
            for a in args:
                if isinstance(a, nn.Parameter):
                    self.foreign(a)
        out = func(*args, **kwargs)
        if self.suppressed:
            return out
        name = func._schema.name
        extra = self.extra.get(name)
        if extra is not None:
            self.add(name, self.run_handle(
                extra, [FlopValue(v) for v in _schema_inputs(func, args, kwargs)],
                [FlopValue(v) for v in _as_list(out)], name))
            return out
        handle = DISPATCH_HANDLES.get(name)
        if name == 'aten::mean' and self.call in _POOLS:
            # adaptive_avg_pool2d (F.interpolate's 'area') to 1x1 runs as a
            # mean; fvcore counted the pooling, one per input element
            name, handle = 'aten::adaptive_avg_pool2d', _per_input
        if handle is not None:
            self.add(name, handle(_schema_inputs(func, args, kwargs), _as_list(out)))
        elif name not in self.negligible and not name.startswith(_NEGLIGIBLE_NAMESPACES):
            said = self.context or name
            if said not in self.negligible:
                self.uncounted.add(said)
        return out


class _Calls(TorchFunctionMode):
    """Sees the calls as written: counts those a handle names whole and
    names the ATen call an uncounted operator came from."""

    def __init__(self, counter: FlopCounter, handles: Dict[str, Handle],
                 extra: Dict[str, Handle]) -> None:
        super().__init__()
        self.counter, self.handles, self.extra = counter, handles, extra

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = f'aten::{getattr(func, "__name__", "")}'
        extra, handle = self.extra.get(name), self.handles.get(name)
        counter = self.counter
        if counter.in_handle:
            return func(*args, **kwargs)
        if (extra is None and handle is None) or counter.suppressed:
            if counter.call is not None:
                return func(*args, **kwargs)
            counter.call = name[len('aten::'):]
            counter.context = name if _is_aten(name) else None
            try:
                return func(*args, **kwargs)
            finally:
                counter.context = counter.call = None
        counter.suppressed += 1
        try:
            out = func(*args, **kwargs)
        finally:
            counter.suppressed -= 1
        inputs = list(args) + list(kwargs.values())
        if extra is not None:
            counter.add(name, counter.run_handle(extra, [FlopValue(v) for v in inputs],
                                                 [FlopValue(v) for v in _as_list(out)], name))
        else:
            counter.add(name, counter.run_handle(handle, inputs, _as_list(out)))
        return out


_ATEN: Dict[str, bool] = {}


def _is_aten(name: str) -> bool:
    if name not in _ATEN:
        _ATEN[name] = hasattr(torch.ops.aten, name[len('aten::'):]) and name != 'aten::__get__'
    return _ATEN[name]


def run_counted(fn: Callable[..., Any], inputs: Sequence[Any], modules: Sequence[nn.Module],
                extra: Optional[Dict[str, Handle]] = None, negligible: Iterable[str] = (),
                foreign: Optional[Callable] = None) -> FlopCounter:
    """Runs ``fn(*inputs)`` once under the counter (the caller sets no_grad,
    eval mode) and returns it, its ``by_module`` named after ``modules``."""
    counter = FlopCounter(extra, negligible, foreign)
    counter.track(modules)
    hooks = [nn.modules.module.register_module_forward_pre_hook(counter._pre),
             nn.modules.module.register_module_forward_hook(counter._post)]
    try:
        with _Calls(counter, FUNCTION_HANDLES, counter.extra), counter:
            fn(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return counter
