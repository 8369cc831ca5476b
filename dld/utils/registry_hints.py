"""Name the registered types, and the arguments, close to an unknown one.

MMEngine's error for an unknown ``type`` ("X is not in the dld::model
registry ...") says neither what was meant nor what exists, and Python's
for an unknown argument of a registered class ("ResNetPlate.__init__() got
an unexpected keyword argument 'widht'") not what the class takes, so a
typo in a config sends the user to the source. :func:`registry_hints`
re-raises those errors with the closest names; every other error passes
through unchanged.
"""
import difflib
import inspect
import re
from contextlib import contextmanager
from typing import Iterator, List, Optional

from mmengine.registry import Registry
from mmengine.registry import root as mmengine_root

from .listing import first_and_more

# build_from_cfg: "{type} is not in the {scope}::{name} registry. ..."
# build_runner_from_cfg: "{type} is not in the {name} registry. ..."
_UNKNOWN_TYPE = re.compile(
    r'^(?P<type>\S+) is not in the (?:(?P<scope>[\w.-]+)::)?(?P<name>[\w ]+?) registry\.')

# Python: "{qualname}.__init__() got an unexpected keyword argument '{arg}'"
_UNKNOWN_ARGUMENT = re.compile(
    r"^(?P<owner>[\w.]+)\.__init__\(\) got an unexpected keyword argument '(?P<arg>\w+)'$")

MAX_LISTED = 40


class UnknownTypeError(KeyError):
    """A ``KeyError`` (what MMEngine raises, so ``except KeyError`` still
    catches it) that prints its message as written, newlines included."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class UnknownArgumentError(TypeError):
    """The ``TypeError`` of an unknown keyword argument, with its hint."""


def _registries(name: Optional[str] = None) -> Iterator[Registry]:
    """MMEngine's root registries (those named ``name``), each followed by
    its children (DLD's, a project's), depth first."""
    pending = [reg for reg in vars(mmengine_root).values()
               if isinstance(reg, Registry) and name in (None, reg.name)][::-1]
    while pending:
        reg = pending.pop()
        yield reg
        pending.extend(reg.children.values())


def _scoped_registry(scope: Optional[str], name: str) -> Optional[Registry]:
    """The registry of ``scope`` named ``name``: MMEngine's root one, or the
    child of it that ``scope`` (``'dld'``, a downstream package) registers."""
    for reg in _registries(name):
        if reg.parent is None and scope is None or reg.scope == scope:
            return reg
    return None


def _resolvable_names(registry: Registry) -> List[str]:
    """What ``registry.get`` finds without a scope prefix: its own names and
    its ancestors'."""
    registry.import_from_location()
    names, reg = set(), registry
    while reg is not None:
        names.update(reg.module_dict)
        reg = reg.parent
    return sorted(names)


def _constant_of(registry: Registry) -> str:
    """``dld.registry.TRANSFORMS`` for DLD's transform registry; the
    registry's own words for another."""
    import dld.registry as ours
    for constant, value in vars(ours).items():
        if value is registry:
            return f'dld.registry.{constant}'
    return f'the {registry.scope}::{registry.name} registry'


def _registered_elsewhere(wanted: str, registry: Registry) -> str:
    """The registries of the same scope, other than ``registry``, where
    ``wanted`` is registered (``'dld::model'``), or '': a transform given
    ``@MODELS.register_module()`` was told that no name is close."""
    found = []
    for reg in _registries():
        if reg is not registry and reg.scope == registry.scope and wanted in reg.module_dict:
            found.append(f'{reg.scope}::{reg.name}')
    return ' and '.join(found)


def unknown_type_hint(message: str) -> Optional[str]:
    """The hint for MMEngine's unknown-type ``message``; None for any other
    message or a registry that cannot be found."""
    match = _UNKNOWN_TYPE.match(message.strip('\'"'))
    if match is None:
        return None
    wanted, scope, name = match['type'], match['scope'], match['name']
    registry = _scoped_registry(scope, name)
    if registry is None:
        return None
    candidates = _resolvable_names(registry)
    elsewhere = _registered_elsewhere(wanted, registry)
    if elsewhere:
        return (f'{wanted} is registered in {elsewhere}, not in {registry.scope}::{name}: the '
                f'config names it where a {name} goes, or it is to be registered with '
                f'{_constant_of(registry)}.register_module().')
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(wanted.lower(), list(by_lower), n=3, cutoff=0.6)
    if close:
        return 'Did you mean ' + ' or '.join(repr(by_lower[c]) for c in close) + '?'
    # A class of one's own that nothing imported is not a typo.
    unimported = (' A class of your own registers when its module is imported: name '
                  "it in the config's custom_imports = dict(imports=['my_package.module']) "
                  '(docs/customize.md).')
    own = sorted(registry.module_dict)
    if not own:
        return unimported.strip()
    return (f'No registered name is close; {registry.scope}::{name} has: '
            f'{first_and_more(own, MAX_LISTED)}.'
            + unimported)


def _registered_classes(qualname: str) -> List[type]:
    """The classes of MMEngine's registries, and of their children (DLD's,
    a project's), that are, or derive from, a class named ``qualname``
    (a registered class may pass an unknown argument on to its base)."""
    found = {}
    for reg in _registries():
        for obj in reg.module_dict.values():
            if inspect.isclass(obj) and any(c.__qualname__ == qualname for c in obj.__mro__):
                found[id(obj)] = obj
    return list(found.values())


def _init_arguments(cls: type, upto: str) -> set:
    """The keyword arguments of ``cls.__init__`` and of its bases' up to
    the one named ``upto``."""
    names = set()
    for klass in cls.__mro__:
        try:
            params = inspect.signature(klass.__init__).parameters.values()
        except (TypeError, ValueError):
            params = []
        names.update(p.name for p in params if p.name != 'self' and p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if klass.__qualname__ == upto:
            break
    return names


def unknown_argument_hint(message: str, built: Optional[type] = None) -> Optional[str]:
    """The arguments a registered class takes that are close to the unknown
    one of ``message``; None for any other message, or when there are none.
    ``built``: the class being built, whose base may be the one named (its
    own arguments then, not those of every class on that base)."""
    match = _UNKNOWN_ARGUMENT.match(message)
    if match is None:
        return None
    if match['arg'] == '_delete_':  # the hint below would say to add it
        return ('`_delete_` means something only where the base config sets that dict (it '
                'replaces it instead of merging into it); here it reached the class: it is in '
                'an item of a list (custom_hooks, a pipeline), which replaces the base\'s '
                'whole, or under a key the base does not set. Leave it out there.')
    accepted = set()
    owners = ([built] if built is not None and any(
        c.__qualname__ == match['owner'] for c in built.__mro__)
        else _registered_classes(match['owner']))
    for cls in owners:
        accepted |= _init_arguments(cls, match['owner'])
    if not accepted:
        return None
    close = difflib.get_close_matches(match['arg'], sorted(accepted), n=3, cutoff=0.6)
    if close:
        hint = 'Did you mean ' + ' or '.join(repr(c) for c in close) + '?'
    else:
        hint = f"{match['owner']} takes: {', '.join(sorted(accepted))}."
    # MMEngine's pitfall: a dict that swaps a base module's type merges into it
    return hint + INHERITED_ARGUMENT_HINT


#: The other cause of an unknown argument, after a typo.
INHERITED_ARGUMENT_HINT = (' (Or the base config set it for another type: a dict that changes '
                           "a module's type keeps the base's other keys unless it also sets "
                           '_delete_=True.)')


def _built_class(tb) -> Optional[type]:
    """The class MMEngine's ``build_from_cfg`` was building, innermost, where
    the traceback ``tb`` passes through it."""
    built = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == 'build_from_cfg':
            cls = frame.f_locals.get('obj_cls')
            built = cls if inspect.isclass(cls) else built
        tb = tb.tb_next
    return built


@contextmanager
def registry_hints() -> Iterator[None]:
    """Re-raise MMEngine's unknown-type ``KeyError``, and the ``TypeError`` of
    a registered class given an unknown argument, raised inside the block,
    with the names close to the unknown one."""
    try:
        yield
    except TypeError as err:
        message = str(err)
        built = _built_class(err.__traceback__)
        hint = (None if isinstance(err, UnknownArgumentError)
                else unknown_argument_hint(message, built))
        if hint is None:
            raise
        match = _UNKNOWN_ARGUMENT.match(message)
        if built is not None and built.__qualname__ != match['owner']:
            # 'BaseDataset.__init__() got ...' while building a PairedPlateDataset
            message += f' (building {built.__name__}, which passes it on to {match["owner"]})'
        raise UnknownArgumentError(f'{message}. {hint}').with_traceback(
            err.__traceback__) from None
    except KeyError as err:
        message = str(err.args[0]) if err.args else ''
        hint = None if isinstance(err, UnknownTypeError) else unknown_type_hint(message)
        if hint is None:
            raise
        # The original frames, one message: where the build failed matters.
        raise UnknownTypeError(f'{message}\n{hint}').with_traceback(err.__traceback__) from None
