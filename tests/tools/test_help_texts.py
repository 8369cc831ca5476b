"""Every command-line argument of the tools, the benchmarks and the package
says what it is in ``--help``: a bare ``--rounds ROUNDS`` tells a user
neither what is repeated nor how often by default."""
import ast
import glob
import os.path as osp

import pytest

from tests.repo_scripts import REPO

SCRIPTS = sorted(
    osp.relpath(path, REPO) for pattern in ('tools/**/*.py', 'benchmarks/*.py', 'dld/**/*.py')
    for path in glob.glob(osp.join(REPO, pattern), recursive=True))


def arguments_without_help(source: str) -> list:
    tree = ast.parse(source)
    return [f'line {node.lineno}: {ast.unparse(node.args[0]) if node.args else "?"}'
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'add_argument'
            and not any(keyword.arg == 'help' for keyword in node.keywords)]


def test_the_check_finds_an_argument_without_help():
    source = "p.add_argument('--rounds', type=int, default=5)\np.add_argument('x', help='y')"
    assert arguments_without_help(source) == ["line 1: '--rounds'"]


@pytest.mark.parametrize('script', SCRIPTS)
def test_every_argument_has_a_help_text(script):
    with open(osp.join(REPO, script), encoding='utf-8') as f:
        assert arguments_without_help(f.read()) == []
