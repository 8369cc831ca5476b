"""Importing the repository's scripts (tools/, benchmarks/), which are not a package."""
import importlib.util
import os.path as osp
from types import ModuleType

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_script(relpath: str) -> ModuleType:
    """``tools/infer.py`` or ``benchmarks/paired_lead.py`` as a fresh module."""
    name = 'dld_script_' + relpath.replace('/', '_').removesuffix('.py')
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
