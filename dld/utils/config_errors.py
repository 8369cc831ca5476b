"""Where a config file went wrong, said in one line (``file:line: what``).

MMEngine reads a ``_base_`` chain from copies and its errors name neither the
file nor the line; these helpers find them again and word the error for the
user, so that :mod:`~dld.utils.config_file` holds only the reading itself.
"""
import importlib.util
import json
import os
import os.path as osp
import re
from typing import Optional

import yaml
from mmengine.config import Config

from .config_bases import base_files


class ConfigFileError(ValueError):
    """A config file (or one of its ``_base_`` files) that cannot be read:
    not Python, a ``_base_`` that is not there, ``custom_imports`` that do
    not import. The tools end with its one line."""


class CustomImportError(ConfigFileError, ImportError):
    """A config's ``custom_imports`` that do not import (an ImportError too)."""


class ConfigNotFoundError(ConfigFileError, FileNotFoundError):
    """A config path that is no file: not there, or a folder. A
    FileNotFoundError too, for the callers that catch that; its words are
    :func:`no_config_file`'s, the tools' one line."""


def no_config_file(path: str) -> str:
    """Why ``path`` is no config to read, with the configs of its folder
    named like it."""
    from .close_names import did_you_mean
    if os.path.isdir(path):
        return f'{path}: a folder, not a config file'
    folder = os.path.dirname(path) or '.'
    if not os.path.isdir(folder):
        return f'{path}: no such config file (no folder {folder})'
    names = [n for n in os.listdir(folder) if n.endswith(('.py', '.json', '.yml', '.yaml'))]
    close = did_you_mean(os.path.basename(path), names)
    return f'{path}: no such config file' + (f'; {close}' if close else '')


def syntax_error_of(path: str, err: SyntaxError) -> ConfigFileError:
    """The syntax error as ``file:line: message``: MMEngine parses the files
    of a ``_base_`` chain without their names, so Python's says
    ``File "<unknown>"``; the file is found by compiling the chain again."""
    found = _find_syntax_error(os.path.abspath(path), set()) or err
    where = f'{found.filename}:{found.lineno}' if found is not err else path
    return ConfigFileError(f'{where}: syntax error: {found.msg}'
                           + (f': {found.text.strip()}' if found.text else ''))


def yaml_refusal_of(path: str, err: Exception) -> ConfigFileError:
    """One line for a YAML config, or YAML ``_base_``, that is not plain data,
    naming the file and line that hold the tag (MMEngine reads YAML from a
    copy, so PyYAML's error names no file)."""
    found = _find_yaml_refusal(os.path.abspath(path), set(), _said(err))
    yaml_file, err = found if found is not None else (None, err)
    where = getattr(err, 'problem_mark', None)
    problem = getattr(err, 'problem', None) or str(err).splitlines()[0]
    if yaml_file is None:
        line = f' (line {where.line + 1})' if where is not None else ''
        named = f'{path}{line}: a YAML config (or a YAML _base_ of it)'
    else:
        named = f'{yaml_file}:{where.line + 1}: a YAML config' if where is not None else \
            f'{yaml_file}: a YAML config'
        if os.path.abspath(yaml_file) != os.path.abspath(path):
            named += f' (a _base_ of {path})'
    return ConfigFileError(f'{named} is read as plain data: {problem}; give a Python config '
                           'for anything more')


def _said(err: Exception) -> tuple:
    """What a YAML error says and where: its problem and line (not its
    column, which a substitution earlier in the line moves)."""
    mark = getattr(err, 'problem_mark', None)
    return getattr(err, 'problem', None), None if mark is None else mark.line


def _find_yaml_refusal(path: str, seen: set, said: tuple) -> Optional[tuple]:
    """``(file, YAMLError)`` of the first YAML file, ``path`` or, depth first,
    one of its ``_base_`` files, that the safe loader refuses as MMEngine's
    read did (``said``: a file read raw, without MMEngine's ``{{ ... }}``
    substitutions, may fail otherwise where MMEngine reads it)."""
    if path in seen or not os.path.isfile(path):
        return None
    seen.add(path)
    if path.endswith(('.yml', '.yaml')):
        from .safe_yaml import SafeLoader
        try:
            with open(path, encoding='utf-8') as f:
                data = yaml.load(f, Loader=SafeLoader)
        except yaml.YAMLError as err:
            if _said(err) == said:
                return path, err
            data = None  # another error (a placeholder read raw): not the one
        bases = data.get('_base_', []) if isinstance(data, dict) else []
        bases = [os.path.join(os.path.dirname(path), str(b))
                 for b in ([bases] if isinstance(bases, str) else bases)]
    elif path.endswith('.py'):
        try:
            bases = [base for _, _, base in base_files(path)]
        except SyntaxError:
            return None
    else:
        return None
    for base in bases:
        found = _find_yaml_refusal(os.path.abspath(base), seen, said)
        if found is not None:
            return found
    return None


def json_error_of(path: str, err: json.JSONDecodeError) -> ConfigFileError:
    """The JSON error as ``file:line:column: message``, naming the JSON file
    of the chain that holds it (MMEngine parses a copy: its error named none)."""
    where = path
    for candidate in _chain_files(os.path.abspath(path), set()):
        if not candidate.endswith('.json'):
            continue
        try:
            with open(candidate, encoding='utf-8') as f:
                json.load(f)
        except json.JSONDecodeError as found:
            if (found.msg, found.lineno) == (err.msg, err.lineno):
                where = candidate
                break
        except (OSError, UnicodeDecodeError):
            continue
    return ConfigFileError(f'{where}:{err.lineno}:{err.colno}: not JSON: {err.msg}')


def _chain_files(path: str, seen: set):
    """``path`` and, depth first, the ``_base_`` files of Python and JSON
    configs under it."""
    if path in seen or not os.path.isfile(path):
        return
    seen.add(path)
    yield path
    bases = []
    if path.endswith('.py'):
        try:
            bases = [base for _, _, base in base_files(path)]
        except (SyntaxError, ValueError, OSError, UnicodeDecodeError):
            bases = []
    elif path.endswith('.json'):
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except (ValueError, OSError, UnicodeDecodeError):
            data = None
        listed = data.get('_base_', []) if isinstance(data, dict) else []
        bases = [os.path.join(os.path.dirname(path), str(b))
                 for b in ([listed] if isinstance(listed, str) else listed)]
    for base in bases:
        yield from _chain_files(os.path.abspath(base), seen)


def _find_syntax_error(path: str, seen: set) -> Optional[SyntaxError]:
    """The first syntax error in ``path`` or, depth first, its ``_base_`` files."""
    if path in seen or not os.path.isfile(path):
        return None
    seen.add(path)
    try:
        bases = list(base_files(path))
    except SyntaxError as err:
        return err
    for _, _, base in bases:
        if not base.endswith('.py'):  # YAML or JSON: not Python, and not this error
            continue
        found = _find_syntax_error(base, seen)
        if found is not None:
            return found
    return None


def missing_base_error_of(path: str) -> Optional[ConfigFileError]:
    """The error naming the file and line that list a ``_base_`` that is not
    there (MMEngine's FileNotFoundError named the base only); None where no
    such base is found."""
    missing = _find_missing_base(os.path.abspath(path), set())
    if missing is None:
        return None
    hint = ''
    if missing[2].replace('\\', '/').lstrip('./').startswith('_base_/'):
        # a shipped config copied alone: an installed dld has no configs
        hint = ("; a DLD config copied out of DLD's configs/ needs its _base_ folder beside "
                "it (copy configs/ whole: an installed dld holds no configs), or give the "
                "flattened config a run wrote to its work dir (work_dirs/NAME/NAME.py)")
    return ConfigFileError(f'{missing[0]}:{missing[1]}: its _base_ {missing[2]!r} is not '
                           f'there ({missing[3]}); a base is a path relative to the file '
                           f'that lists it{hint}')


def _find_missing_base(path: str, seen: set) -> Optional[tuple]:
    """``(file, line, base, its path)`` of the first ``_base_`` that is not
    there, in ``path`` or, depth first, its bases."""
    if path in seen:
        return None
    seen.add(path)
    try:
        bases = list(base_files(path))
    except SyntaxError:
        return None
    for line, written, base in bases:
        if '::' in written:  # a package's config ('mmdet::...'): MMEngine finds it
            continue
        if not os.path.isfile(base):
            return path, line, written, os.path.normpath(base)
        found = _find_missing_base(base, seen)
        if found is not None:
            return found
    return None


def find_shared_base_keys(path: str, seen: set) -> Optional[str]:
    """Where two ``_base_`` files of one file set the same keys, which
    MMEngine refuses with a KeyError naming neither file: ``'file:line: ...'``
    of the first such file, depth first; None if none is found."""
    if path in seen or not os.path.isfile(path):
        return None
    seen.add(path)
    try:
        bases = [b for b in base_files(path) if '::' not in b[1]]
    except SyntaxError:
        return None
    for _, _, base in bases:
        found = find_shared_base_keys(base, seen)
        if found is not None:
            return found
    read = []
    for line, written, base in bases:
        try:
            keys = set(Config.fromfile(base, import_custom_modules=False).keys())
        except Exception:  # noqa: BLE001 - refused for another reason: not this one
            return None
        for other, other_keys in read:
            shared = sorted(keys & other_keys)
            if shared:
                # as the second file would write the first in its own _base_
                first = other if osp.isabs(other) else osp.relpath(
                    osp.join(osp.dirname(path), other), osp.dirname(base))
                return (f'{path}:{line}: its _base_ files {other!r} and {written!r} both set '
                        f"{', '.join(shared)}, and MMEngine merges no key two bases share; "
                        f'chain them (give {written!r} a `_base_ = [{first!r}]` of its own and '
                        f'list it alone here), or set those keys in {os.path.basename(path)} '
                        'itself')
        read.append((written, keys))
    return None


def missing_base_variable(path: str, err: Exception) -> Optional[str]:
    """``'file:line: ...'`` where a ``{{_base_.x}}`` or ``_base_.x`` of the
    chain names a variable no base sets (MMEngine's KeyError or
    AttributeError named the variable only); None where none is found."""
    if isinstance(err, KeyError):
        name = str(err.args[0]) if err.args else ''
    else:
        found = re.search(r"has no attribute '([^']+)'", str(err))
        name = found.group(1) if found else ''
    if not name:
        return None
    used = re.compile(r'_base_\s*\.\s*' + re.escape(name) + r'\b')
    for candidate in _chain_files(os.path.abspath(path), set()):
        try:
            with open(candidate, encoding='utf-8') as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        if not any(used.search(line) for line in lines) \
                or _bases_may_set(candidate, name, set()):
            # its bases set it: the error is of something else (a key of
            # one of its values, a lookup of the config's own code)
            continue
        for number, line in enumerate(lines, 1):
            if used.search(line):
                return (f'{candidate}:{number}: _base_.{name}: no _base_ file of it sets '
                        f'{name!r}: {line.strip()}')
    return None


def _bases_may_set(path: str, name: str, seen: set) -> bool:
    """Whether a ``_base_`` file of ``path`` (depth first) sets the top-level
    variable ``name``, or may (one that cannot be read as Python or JSON)."""
    import ast
    for base in list(_chain_files(os.path.abspath(path), set()))[1:]:
        if base in seen:
            continue
        seen.add(base)
        try:
            with open(base, encoding='utf-8') as f:
                text = f.read()
            if base.endswith('.py'):
                tree = ast.parse(text, filename=base)
                names = {t.id for node in ast.walk(tree)
                         if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign))
                         for t in (node.targets if isinstance(node, ast.Assign)
                                   else [node.target]) if isinstance(t, ast.Name)}
                if any(isinstance(node, (ast.ImportFrom, ast.Import)) for node in tree.body):
                    names |= {alias.asname or alias.name.split('.')[0]
                              for node in ast.walk(tree)
                              if isinstance(node, (ast.ImportFrom, ast.Import))
                              for alias in node.names}
                if name in names or '*' in names:
                    return True
            elif base.endswith('.json'):
                data = json.loads(text)
                if not isinstance(data, dict) or name in data:
                    return True
            else:  # YAML, or another reader's: not looked into
                return True
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            return True
    return False


def lazy_import_said(err: ImportError, name: str) -> str:
    """MMEngine's 'Failed to import X from m in file, line N' as one line,
    with the module that holds a class of that name in DLD's registries."""
    said = str(err).splitlines()[0] if str(err) else f'cannot import {name}'
    # 'Failed to import X from m in F, line N', or (a module not found)
    # 'Failed to import m in F, line N for No module named ...'
    found = re.search(r' in (.+?), line (\d+)(?: for (.+))?$', said)
    if found:
        said = (f'{found.group(1)}:{found.group(2)}: ' + said[:found.start()]
                + (f': {found.group(3)}' if found.group(3) else ''))
    name = name.rsplit('.', 1)[-1]
    try:
        from mmengine.registry import Registry

        import dld.registry as registries
        for registry in vars(registries).values():
            if isinstance(registry, Registry):  # nothing may have imported DLD's modules yet
                registry.import_from_location()
            cls = registry.get(name) if isinstance(registry, Registry) \
                and name in registry.module_dict else None
            if cls is not None:
                package = cls.__module__.rsplit('.', 1)[0]
                return (f'{said}; DLD has {name} in {cls.__module__}: '
                        f'`from {package} import {name}`')
    except Exception:  # noqa: BLE001 - the hint only: MMEngine's words stand alone
        pass
    return said


def raise_custom_import_error(source: str, imports, err: ImportError) -> None:
    """Raise the first error of the chain MMEngine wraps twice, saying where
    the tools look for a missing package, or that a found package lacks a
    module."""
    root = err
    while isinstance(root.__cause__ or root.__context__, ImportError):
        root = root.__cause__ or root.__context__
    missing = getattr(root, 'name', None) or ''
    wanted = [imports] if isinstance(imports, str) else list(imports)
    message = f'{source}: its custom_imports failed: {root}'
    pathlike = [m for m in wanted if isinstance(m, str) and ('/' in m or '\\' in m
                                                             or m.endswith('.py'))]
    if pathlike:  # a file's path, not a module's
        dotted = pathlike[0].replace('\\', '/').removesuffix('.py').strip('/').replace('/', '.')
        raise CustomImportError(f'{message}; custom_imports name modules with dots, as an '
                                f'import does: {dotted!r}, not {pathlike[0]!r}') from root
    if isinstance(root, ModuleNotFoundError) and any(
            m == missing or m.startswith(missing + '.') for m in wanted if missing):
        if '.' in missing and _importable(missing.rsplit('.', 1)[0]):
            # The package is there, a module in it is not: a typo, not the path.
            parent = missing.rsplit('.', 1)[0]
            message += (f'; the package {parent} was found ({_location(parent)}) '
                        f'but holds no module {missing.rsplit(".", 1)[1]!r}.')
        else:
            message += (f". DLD's tools import a project's package from the working "
                        f'directory ({os.getcwd()}): run them from the folder that the '
                        'module path starts from (the one holding `projects/` for '
                        '`projects.x.y`), or install the package (pip install -e .) or '
                        'put its folder on PYTHONPATH.')
    raise CustomImportError(message) from root


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _location(module: str) -> str:
    spec = importlib.util.find_spec(module)
    places = list(spec.submodule_search_locations or []) or [spec.origin]
    return ', '.join(str(p) for p in places)
