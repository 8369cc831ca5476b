"""Write a result file whole or not at all."""
import json
import os
from typing import Any


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place.

    Why: the schedule counts a step as done once its result file exists, and
    the reports read those files; a kill mid-write must leave the old file
    or none, never half a file that then counts as done. (A kill, not a
    power cut: the file is not synced to disk, so that writing thousands,
    as the plate generator does, stays fast.) A folder of ``path`` that is
    not there yet is made.
    """
    tmp = f'{path}.tmp{os.getpid()}'  # processes writing side by side keep apart
    try:
        try:
            f = open(tmp, 'w', encoding='utf-8', newline='\n')
        except FileNotFoundError:  # a new folder (`--json out/t.json` after a long run)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            f = open(tmp, 'w', encoding='utf-8', newline='\n')
        with f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):  # a full disk, say: no stray temporary file
            os.remove(tmp)
        raise


def write_json_atomic(path: str, obj: Any, **dump_kwargs) -> None:
    """``json.dump(obj)`` to ``path`` via :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(obj, **dump_kwargs) + '\n')
