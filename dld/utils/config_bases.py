"""The ``_base_`` files a Python config lists, read without running it.

Both the error finders (:mod:`~dld.utils.config_errors`) and the warnings of
unused overrides (:mod:`~dld.utils.base_variables`) walk a chain of bases.
"""
import os


def base_files(path: str):
    """``(line, base as written, its path)`` of each ``_base_`` of the file
    ``path``; raises SyntaxError where it is not Python."""
    import ast
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return
            for base in [bases] if isinstance(bases, str) else list(bases):
                yield node.lineno, str(base), os.path.join(os.path.dirname(path), str(base))
