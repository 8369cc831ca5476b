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


_CONVERT = ('an MMOCR textrecog JSON or a PaddleOCR label file converts into a DLD label file '
            'with tools/dataset_converters/ocr_rec_labels.py (docs/datasets.md, "Coming from '
            'MMOCR or PaddleOCR")')
_DATASET = ("DLD reads a label file (PairedPlateDataset) or ICPR track folders "
            f"(LRLPRTrackDataset); {_CONVERT}.")
_RECOGNIZER = ("DLD's recognizer is TextRecognizer (backbone, encoder, decoder: "
               'docs/architecture.md), its distiller DLDDistiller.')

#: MMOCR's names, unknown to DLD, and what DLD has in their place: a user
#: of MMOCR brings its configs' habits, and "Did you mean 'RepeatDataset'?"
#: for OCRDataset sent them the wrong way.
FOREIGN_NAMES = {
    'OCRDataset': f"OCRDataset is MMOCR's; {_DATASET}",
    'RecogTextDataset': f"RecogTextDataset is MMOCR's; {_DATASET}",
    'RecogLMDBDataset': f"RecogLMDBDataset is MMOCR's; {_DATASET}",
    'PackTextRecogInputs': "PackTextRecogInputs is MMOCR's; DLD's is PackPlateInputs "
                           "(main_stream='lr' or 'hr'; docs/datasets.md, Transforms).",
    'LoadImageFromFile': "LoadImageFromFile reads MMOCR's img_path; DLD's items hold lr_path "
                         'and hr_path, read by LoadPlateImages(with_lr, with_hr).',
    'RescaleToHeight': "RescaleToHeight is MMOCR's; DLD resizes with ResizePair(lr_size, "
                       'hr_size), keeping the LR crop\'s aspect.',
    'PadToWidth': "PadToWidth is MMOCR's; DLD's ResizePair pads the LR crop to its lr_size.",
    'TextRecogDataPreprocessor': "TextRecogDataPreprocessor is MMOCR's; DLD's is "
                                 'PlateDataPreprocessor.',
    'WordMetric': "WordMetric is MMOCR's; DLD's PlateRecogMetric gives plate/accuracy, "
                  "WordMetric's word_acc_ignore_case (case_sensitive=True: its 'exact'); "
                  'docs/datasets.md, "Coming from MMOCR or PaddleOCR", says how the '
                  'metrics differ.',
    'CharMetric': "CharMetric is MMOCR's; DLD's PlateRecogMetric gives plate/char_accuracy "
                  '(characters right at their position, not recall and precision of aligned '
                  'ones) and plate/one_minus_ned.',
    'OneMinusNEDMetric': "OneMinusNEDMetric is MMOCR's; DLD's PlateRecogMetric gives "
                         'plate/one_minus_ned.',
    **{name: f"{name} is MMOCR's; {_RECOGNIZER}"
       for name in ('SARNet', 'CRNN', 'ABINet', 'NRTR', 'MASTER', 'SATRN', 'SVTR',
                    'EncoderDecoderRecognizer', 'BaseRecognizer')},
}


def _other_scope_hint(wanted: str, registry: Registry) -> str:
    """Where ``wanted`` is registered in a registry of the same name but
    another scope than ``registry``'s (a config's ``default_scope='mmocr'``
    left in: MMEngine then searched its root registry for DLD's
    TextRecognizer), the sentence saying so; '' otherwise."""
    from mmengine.registry import DefaultScope
    current = DefaultScope.get_current_instance()
    scope = current.scope_name if current is not None else None
    found = [reg.scope for reg in _registries(registry.name)
             if reg is not registry and wanted in reg.module_dict]
    if not found or scope in found:
        return ''
    said = f"default_scope is {scope!r}" if scope else 'no default_scope is set'
    known = {reg.scope for reg in _registries()}
    unknown = (f' (no package registers the scope {scope!r}: a config of MMOCR\'s?)'
               if scope and scope not in known else '')
    fix = ("DLD's configs set default_scope = 'dld'" if found[0] == 'dld' else
           f"set default_scope = {found[0]!r}, or name it '{found[0]}.{wanted}'")
    return (f'{wanted} is registered in {found[0]}::{registry.name}, but the '
            f'{said}{unknown}: {fix}.')


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
    other_scope = _other_scope_hint(wanted, registry)
    if other_scope:
        return other_scope
    if wanted in FOREIGN_NAMES:
        return FOREIGN_NAMES[wanted]
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
        # the class being built takes its own arguments beside its base's
        who = built.__name__ if owners == [built] else match['owner']
        hint = f"{who} takes: {', '.join(sorted(accepted))}."
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
