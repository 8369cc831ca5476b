"""Write a result file whole or not at all."""
import json
import os
from typing import IO, Any, Callable, Dict


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place.

    Why: the schedule counts a step as done once its result file exists, and
    the reports read those files; a kill mid-write must leave the old file
    or none, never half a file that then counts as done. (A kill, not a
    power cut: the file is not synced to disk, so that writing thousands,
    as the plate generator does, stays fast.) A folder of ``path`` that is
    not there yet is made.
    """
    write_file_atomic(path, lambda f: f.write(text), text=True)


def write_file_atomic(path: str, write: Callable[[IO], Any], text: bool = False) -> None:
    """``write(f)`` into ``path`` as :func:`write_text_atomic` writes: whole
    or not at all; ``f`` is binary unless ``text`` (UTF-8, ``\\n`` lines)."""
    tmp = f'{path}.tmp{os.getpid()}'  # processes writing side by side keep apart
    mode = dict(mode='w', encoding='utf-8', newline='\n') if text else dict(mode='wb')
    try:
        try:
            f = open(tmp, **mode)
        except FileNotFoundError:  # a new folder (`--json out/t.json` after a long run)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            f = open(tmp, **mode)
        with f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):  # a full disk, say: no stray temporary file
            os.remove(tmp)
        raise


def write_json_atomic(path: str, obj: Any, **dump_kwargs) -> None:
    """``json.dump(obj)`` to ``path`` via :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(obj, **dump_kwargs) + '\n')


def write_files_together(out_dir: str, writers: Dict[str, Callable[[str], None]]
                         ) -> Dict[str, str]:
    """Write the files of one result into ``out_dir`` together: each
    ``writers[name](path)`` writes its file to a temporary name, and only
    once all are made are they renamed into place, in ``writers``' order
    (put the file that says the result is whole, its JSON, last). A failure
    part-way (a plot that cannot be drawn, a full disk) leaves the previous
    files whole rather than a mix of new and old. Returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, name) for name in writers}
    tmp = {name: f'{path}.tmp{os.getpid()}' for name, path in paths.items()}
    try:
        for name, write in writers.items():
            write(tmp[name])
    except BaseException:
        for path in tmp.values():
            if os.path.exists(path):
                os.remove(path)
        raise
    for name in writers:
        os.replace(tmp[name], paths[name])
    return paths


def text_writer(content: str) -> Callable[[str], None]:
    """A writer of ``content`` (UTF-8) for :func:`write_files_together`."""
    def write(path: str) -> None:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(content)
    return write
