"""The optimizer and the learning-rate schedule, built before the data.

MMEngine builds them inside ``Runner.train()``, after the model (and its
teacher), after the training set is read: a misspelt argument
(``optim_wrapper.optimizer.lrr``, ``param_scheduler.0.eta_maxx``), an
unknown optimizer type (``type='Adamw'``: "None is not a callable object"),
a learning rate of ``le-3`` or ``betas=0.9`` were a traceback of some 40
lines there, naming no setting. :func:`build_optimization` builds the
optimizer wrapper for the runner (``Runner.train()`` keeps it) and builds
the schedulers once on a stand-in for it, so that each of those is refused
in one line before the data is read; ``Runner.train()`` builds the
schedulers again, on the real optimizer, as it always did.
"""
import copy
import inspect
import numbers
from typing import Mapping

from mmengine.optim import OptimWrapper, OptimWrapperDict

from dld.utils.config_types import type_name
from dld.utils.registry_hints import UnknownArgumentError, UnknownTypeError, registry_hints

#: An epoch's iterations for the trial build of the schedulers (the data is
#: not read yet): large, so that a schedule converted to iterations
#: (``convert_to_iter_based``) keeps fractional epochs apart.
TRIAL_EPOCH_LENGTH = 10**6


def _defaults(cls) -> dict:
    """The default of each keyword argument of ``cls``, its bases' too where
    its ``__init__`` passes ``**kwargs`` on (MMEngine's ``OneCycleLR``)."""
    found = {}
    for klass in getattr(cls, '__mro__', ()):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return found
        for p in params:
            if p.default is not p.empty:
                found.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return found


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _numbers(value) -> bool:
    return isinstance(value, (tuple, list)) and bool(value) and all(map(_is_number, value))


def check_argument_kinds(cls, cfg: Mapping, where: str, per_group: bool = False) -> None:
    """Refuse a value of another kind than its argument's default: a word
    for a number (``lr=le-3`` from a command line), one number for a pair
    (``betas=0.9``), a word for ``True``/``False``. They failed deep inside
    the class ("'<=' not supported between instances of 'float' and 'str'").
    ``per_group``: a number may be a list of numbers, one per parameter
    group, as a scheduler's ``eta_max`` or ``min_value`` (whose default is
    one number)."""
    defaults = _defaults(cls)
    for key, value in cfg.items():
        if key == 'type' or key not in defaults or value is None:
            continue
        default = defaults[key]
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), 'True or False'
        elif _is_number(default):
            ok = _is_number(value) or (per_group and _numbers(value))
            want = 'a number, or one per parameter group' if per_group else 'a number'
        elif isinstance(default, (tuple, list)) and default and all(map(_is_number, default)):
            ok = isinstance(value, (tuple, list)) and len(value) == len(default) and all(
                map(_is_number, value))
            want = f'{len(default)} numbers, like its default {tuple(default)}'
        else:
            continue
        if not ok:
            raise TypeError(f'{where}.{key} must be {want}, got {value!r}')


def _optimizer_class(optimizer_cfg: Mapping):
    """The class ``optimizer_cfg['type']`` names, as MMEngine's constructor
    finds it; an unknown name is MMEngine's unknown-type ``KeyError`` (which
    :func:`~dld.utils.registry_hints.registry_hints` completes with the
    close names): MMEngine's constructor failed on ``inspect.signature(None)``."""
    from mmengine.registry import OPTIMIZERS
    kind = optimizer_cfg.get('type')
    if not isinstance(kind, str):
        return kind
    with OPTIMIZERS.switch_scope_and_registry(None) as registry:
        cls = registry.get(kind)
        if cls is None:
            raise KeyError(f'{kind} is not in the {registry.scope}::{registry.name} registry. '
                           '(optim_wrapper.optimizer.type)')
    return cls


def check_optimizer_cfg(optim_wrapper: Mapping) -> None:
    """The optimizer's type is registered and its arguments are of their kind."""
    optimizer = optim_wrapper.get('optimizer') if isinstance(optim_wrapper, Mapping) else None
    if not isinstance(optimizer, Mapping):
        return
    cls = _optimizer_class(optimizer)
    if inspect.isclass(cls):
        check_argument_kinds(cls, optimizer, 'optim_wrapper.optimizer')


def _stand_in(wrapper: OptimWrapper) -> OptimWrapper:
    """A copy of ``wrapper`` whose ``param_groups`` are copies:
    a scheduler built on it sets its values (``initial_lr``, the first
    step's) there, not on the optimizer the run trains with."""
    optimizer = copy.copy(wrapper.optimizer)
    optimizer.param_groups = [dict(group) for group in wrapper.optimizer.param_groups]
    stand_in = copy.copy(wrapper)
    stand_in.optimizer = optimizer
    # the extra group MMEngine's wrapper shows schedulers (and logs as
    # base_lr) where there are several: a LinearLR warm-up tried on it
    # scaled the run's base_lr by its start_factor twice
    if getattr(wrapper, 'base_param_settings', None) is not None:
        stand_in.base_param_settings = dict(wrapper.base_param_settings)
    return stand_in


def trial_build_schedulers(runner) -> None:
    """Build ``runner``'s ``param_scheduler`` settings on a stand-in of its
    (built) optimizer wrapper; raises what a scheduler's build raises,
    naming the entry. Schedulers for several optimizers are left to
    MMEngine."""
    from mmengine.registry import PARAM_SCHEDULERS
    schedulers = runner.param_schedulers
    wrapper = runner.optim_wrapper
    if schedulers is None or isinstance(wrapper, OptimWrapperDict) or \
            not isinstance(wrapper, OptimWrapper):
        return
    entries = schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue
        where = f'param_scheduler.{index}' if isinstance(schedulers, (list, tuple)) \
            else 'param_scheduler'
        cls = entry.get('type')
        if isinstance(cls, str):  # in the default scope, as the build finds it (dld's OneCycleLR)
            with PARAM_SCHEDULERS.switch_scope_and_registry(None) as registry:
                cls = registry.get(cls)
        if inspect.isclass(cls):
            check_argument_kinds(cls, entry, where, per_group=True)
        try:
            with registry_hints():  # a misspelt argument: the close ones
                PARAM_SCHEDULERS.build(copy.deepcopy(dict(entry)), default_args=dict(
                    optimizer=_stand_in(wrapper), epoch_length=TRIAL_EPOCH_LENGTH))
        except (ValueError, TypeError, UnknownTypeError) as err:
            if type(err) not in (ValueError, TypeError, UnknownArgumentError, UnknownTypeError):
                raise  # a class of its own may need other arguments
            raise type(err)(f'{where} ({type_name(entry.get("type"))}): {err}') from err


def build_optimization(runner) -> None:
    """Build ``runner``'s optimizer wrapper now (``Runner.train()`` keeps
    it) and try its schedulers on a stand-in, so that either refused is
    said before the data is read. Raises what the build raises."""
    if isinstance(runner.optim_wrapper, Mapping):
        check_optimizer_cfg(runner.optim_wrapper)
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    trial_build_schedulers(runner)
