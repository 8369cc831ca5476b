"""The example projects import as ``projects.<name>.<package>``, as their
configs' ``custom_imports`` name them, from the repository root."""
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.append(REPO)
