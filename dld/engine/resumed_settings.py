"""Warn of a resumed run whose settings differ from the run it resumes.

A sweep's ``--resume`` (its loop run again after a kill) given another loss
weight, FLOPs penalty or learning rate than the checkpoint's run went on
with the new value silently: the result was a run of two settings, recorded
under the second alone. The saved config (``meta['cfg']``, MMEngine's text
of the run's config) is parsed, never executed (:mod:`dld.apis.trained_config`).
"""
import ast
import logging
from typing import Any, Dict, Optional

from mmengine.logging import print_log

#: the top-level settings compared; the schedule, the seed and the data's
#: length are checked elsewhere (ResumedScheduleCheckHook, the seed check)
COMPARED = ('model', 'optim_wrapper', 'train_dataloader', 'custom_hooks')
#: keys a resume may change: the teacher comes from the checkpoint then;
#: the loader's processes (a resume on another machine) read the same batches
IGNORED = ('model.teacher_ckpt', 'train_dataloader.num_workers',
           'train_dataloader.persistent_workers', 'train_dataloader.pin_memory',
           'train_dataloader.prefetch_factor')
#: prefixes of keys that do not change what is trained: prediction options
#: (model.test_cfg: the selector's bias, the reread cascade)
IGNORED_PREFIXES = ('model.test_cfg', )
#: hooks that decide when to stop or only watch, not what is trained:
#: EarlyStoppingHook's own message says to raise its patience and resume;
#: SelectorCollapseHook warns (the shipped DLD configs gained it: every run
#: of an older DLD resumed after an upgrade was warned of it)
UNTRAINING_HOOKS = ('EarlyStoppingHook', 'SelectorCollapseHook')


def _literal(node: ast.AST) -> Any:
    """A ``dict(...)``/list/tuple/constant node as Python values; any other
    expression as its source text."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
    if isinstance(node, ast.Dict):
        return {(k.value if isinstance(k, ast.Constant) else ast.unparse(k)): _literal(v)
                for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Constant):
        return node.value
    return ast.unparse(node)


def _settings(text: Optional[str]) -> Optional[Dict[str, Any]]:
    from dld.apis.trained_config import config_assignments
    assigned = config_assignments(text)
    if assigned is None:
        return None
    try:
        return {name: _literal(node) for name, node in assigned.items() if name in COMPARED}
    except RecursionError:
        return None


def _flat(value: Any, prefix: str, out: Dict[str, Any]) -> Dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _flat(item, f'{prefix}.{key}', out)
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            _flat(item, f'{prefix}.{i}', out)
    else:
        out[prefix] = value
    return out


def changed_settings(saved_text: Optional[str], own_text: Optional[str]) -> Dict[str, tuple]:
    """``{key: (saved, own)}`` of each compared setting that differs; empty
    where either config cannot be read."""
    saved, own = _settings(saved_text), _settings(own_text)
    if saved is None or own is None:
        return {}
    changed = {}
    for name in COMPARED:
        if name not in saved or name not in own:
            continue
        values = [saved[name], own[name]]
        if name == 'custom_hooks':
            values = [[h for h in v if not (isinstance(h, dict) and str(h.get('type')).split(
                '.')[-1] in UNTRAINING_HOOKS)] if isinstance(v, list) else v for v in values]
        a, b = (_flat(v, name, {}) for v in values)
        for key in sorted(set(a) | set(b)):
            if key in IGNORED or any(key == p or key.startswith(p + '.')
                                     for p in IGNORED_PREFIXES) or \
                    a.get(key, '<unset>') == b.get(key, '<unset>'):
                continue
            changed[key] = (a.get(key, '<unset>'), b.get(key, '<unset>'))
    return changed


def warn_of_changed_settings(runner, meta: dict) -> None:
    """Warn, once, where the resumed run's config differs from its checkpoint's."""
    try:
        own = runner.cfg.pretty_text
    except Exception:  # a config MMEngine cannot print: nothing to compare
        return
    changed = changed_settings(meta.get('cfg') if isinstance(meta, dict) else None, own)
    if not changed:
        return
    shown = [f'{key}: {a!r} -> {b!r}' for key, (a, b) in list(changed.items())[:8]]
    more = f' (and {len(changed) - 8} more)' if len(changed) > 8 else ''
    print_log('The resumed run\'s config differs from that of the run it resumes, which '
              'trained its first part with the checkpoint\'s settings: '
              + '; '.join(shown) + more + '. Where one changes what is trained (not a '
              'folder moved), its results are of both; to train one setting, resume with '
              'the checkpoint\'s or start afresh in another work dir.',
              logger='current', level=logging.WARNING)
