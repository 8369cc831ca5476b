"""Tools that read in one process, refusing torchrun's several."""
import os
import sys
from typing import Optional


def started_by_torchrun() -> Optional[int]:
    """The number of processes torchrun (or another launcher setting
    ``WORLD_SIZE``) started, where more than one; None otherwise."""
    try:
        world = int(os.environ.get('WORLD_SIZE', '1'))
    except ValueError:
        return None
    return world if world > 1 else None


def refuse_several_processes(tool: str) -> bool:
    """Whether ``tool`` runs under a launcher of several processes, said in
    one line by the first: a tool without ``--launcher`` ran whole in each,
    and each wrote the same outputs (infer.py's summary printed twice)."""
    world = started_by_torchrun()
    if world is None:
        return False
    if os.environ.get('RANK', '0') == '0':
        print(f'{tool}: reads in one process, but was started in {world} (torchrun, '
              'dist_train.sh?): run it with python; only train.py and test.py take '
              '--launcher', file=sys.stderr)
    return True
