"""A config's variable that changes a base's variable after the base used it.

MMEngine reads each ``_base_`` file on its own: ``data_root = 'data/mine/'``
in a config whose base built its dataloaders from its own ``data_root``
leaves them reading the base's folder, and the run goes on with the other
data, saying nothing (docs/datasets.md says so; users still write it).
"""
import ast
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .config_bases import base_files
from .config_option_keys import OTHER_KEYS, RUNNER_KEYS, paths_holding
from .listing import first_and_more


def _literal_assignments(path: str) -> Dict[str, Tuple[int, Any]]:
    """``{name: (line, value)}`` of the file's top-level variables whose
    value is a literal (a path, a number, a tuple of them, a ``dict(...)``
    of them: ``dictionary = dict(type='Dictionary', dict_file=...)``)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = (node.lineno, _literal(node.value))
            except ValueError:
                continue
    return found


def _literal(node: ast.AST) -> Any:
    """``ast.literal_eval``, and ``dict(key=literal, ...)`` calls (a config's
    way of writing a dict)."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict'
            and not node.args and all(k.arg is not None for k in node.keywords)):
        return {k.arg: _literal(k.value) for k in node.keywords}
    return ast.literal_eval(node)


def _base_value(path: str, name: str, seen: set) -> Optional[Tuple[str, Any]]:
    """``(base file, value)`` of the first Python base of ``path`` (depth
    first) that assigns ``name`` a literal; a base that is YAML or JSON, or
    cannot be parsed, is passed over."""
    try:
        bases = list(base_files(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for _, _, base in bases:
        base = os.path.abspath(base)
        if base in seen or not base.endswith('.py') or not os.path.isfile(base):
            continue
        seen.add(base)
        try:
            own = _literal_assignments(base)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        if name in own:
            return base, own[name][1]
        found = _base_value(base, name, seen)
        if found is not None:
            return found
    return None


def unused_overrides(path: str, cfg: Mapping) -> List[str]:
    """A warning for each variable of the file ``path`` that a base file
    sets too, where the runner's settings hold the base's value and none
    holds the file's: the base used its own when it was read."""
    if not str(path).endswith('.py'):
        return []
    try:
        own = _literal_assignments(path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    warnings = []
    for name, (line, value) in own.items():
        if _has_placeholder(value) and name in cfg:
            # '{{$ENV:default}}' as written: the value is what MMEngine put there
            value = cfg[name]
        if name.startswith('_') or name in RUNNER_KEYS + OTHER_KEYS or value is None \
                or isinstance(value, bool):
            continue
        base = _base_value(os.path.abspath(path), name, set())
        if base is None or base[1] == value:
            continue
        # a number, None or a bool is held by unrelated settings too (3 epochs,
        # 3 channels, no init_cfg): only those of its name count
        common = base[1] is None or isinstance(base[1], (int, float))
        held = paths_holding(cfg, base[1], named=name if common else None)
        if not held:  # (some settings may hold the file's value: those it set itself)
            continue
        shown = first_and_more(held, 4)
        warnings.append(
            f'{path}:{line}: {name}={value!r} does not reach the settings of {base[0]}, which '
            f'used its own {name}={base[1]!r} when it was read: {shown} still hold(s) '
            f'{base[1]!r}. Set those instead, e.g. {held[0]}={value!r}')
    return warnings


def _has_placeholder(value: Any) -> bool:
    """Whether ``value`` as written holds a ``{{ ... }}`` that MMEngine
    replaces when it reads the file (``'{{$DATA:data/}}'``)."""
    if isinstance(value, str):
        return '{{' in value and '}}' in value
    if isinstance(value, dict):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_placeholder(v) for v in value)
    return False
