"""What a checkpoint's saved config says, read without running it.

MMEngine saves the run's whole config as text in ``meta['cfg']``. A config
file is Python, and a checkpoint is a user's file that DLD loads with
``weights_only=True`` so that loading runs none of its code: the text is
therefore parsed (:mod:`ast`), never executed, and only literal values are
read.
"""
import ast
from typing import Any, Dict, Optional, Tuple


def trained_model_setting(meta: dict, key: str) -> Optional[Any]:
    """The literal value of ``model.<key>`` in the config a checkpoint was
    trained with; None when the checkpoint saved no config, the config sets
    no such key, or its value is not a literal (a ``dict(...)``)."""
    return trained_setting(meta, 'model', key)


def trained_setting(meta: dict, name: str, *keys: str) -> Optional[Any]:
    """The literal value of ``<name>.<keys[0]>.<keys[1]>...`` (nested
    ``dict(...)`` calls or ``{...}``: ``'train_cfg', 'max_epochs'``,
    ``'model', 'backbone', 'strides'``) in the config a checkpoint was
    trained with; None where the saved config does not say it as a literal."""
    node = _assigned(meta, name)
    for key in keys:
        node = _item(node, key)
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, RecursionError, MemoryError):  # not a plain literal
        return None


def trained_scales(meta: dict) -> Optional[Tuple[float, ...]]:
    """The scales a DLD checkpoint's student and selector were trained on:
    ``model.scales``, or ``(model.fixed_scale, )`` for a run without a
    selector (``selector=None``); None where the saved config does not say."""
    selector = _model_keyword(meta, 'selector')
    if isinstance(selector, ast.Constant) and selector.value is None:
        fixed = trained_model_setting(meta, 'fixed_scale')
        return (float(fixed), ) if isinstance(fixed, (int, float)) else None
    scales = trained_model_setting(meta, 'scales')
    if isinstance(scales, (list, tuple)) and all(isinstance(s, (int, float)) for s in scales):
        return tuple(float(s) for s in scales)
    return None


def trained_base_size(meta: dict) -> Optional[Tuple[int, int]]:
    """The input size a DLD checkpoint was trained at (``model.base_size``);
    None where the saved config does not say."""
    size = trained_model_setting(meta, 'base_size')
    if (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) for s in size)):
        return tuple(size)
    return None


def _model_keyword(meta: dict, key: str) -> Optional[ast.AST]:
    """The expression ``model.<key>`` is set to in ``meta['cfg']``."""
    return _item(_assigned(meta, 'model'), key)


def _assigned(meta: dict, name: str) -> Optional[ast.AST]:
    """The expression the top-level ``name`` is set to in ``meta['cfg']``."""
    text = meta.get('cfg') if isinstance(meta, dict) else None
    return (config_assignments(text) or {}).get(name)


def config_assignments(text: Optional[str]) -> Optional[Dict[str, ast.AST]]:
    """The expression each top-level name of a saved config's text
    (``meta['cfg']``) is set to, the first where set twice: parsed, never
    run. None where it is no Python."""
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # not Python, a NUL byte, or nested past the parser's depth (a crafted
        # checkpoint's): no setting is read from it
        return None
    found: Dict[str, ast.AST] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            found.setdefault(node.targets[0].id, node.value)
    return found


def _item(node: Optional[ast.AST], key: str) -> Optional[ast.AST]:
    """The expression ``key`` is set to in ``node``, a ``dict(..., key=...)``
    call or a ``{'key': ...}``; None for anything else."""
    if isinstance(node, ast.Call):
        return next((kw.value for kw in node.keywords if kw.arg == key), None)
    if isinstance(node, ast.Dict):
        return next((v for k, v in zip(node.keys, node.values)
                     if isinstance(k, ast.Constant) and k.value == key), None)
    return None


def scales_differ(trained, own) -> bool:
    """Whether ``own`` scales are not ``trained`` ones, in the same order
    (per-scale statistics and the selector's outputs follow the order)."""
    own = tuple(float(x) for x in own)
    return len(trained) != len(own) or any(abs(a - b) > 1e-9 for a, b in zip(trained, own))

