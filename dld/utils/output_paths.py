"""Whether a tool's output files and folders can be written, asked before
any image is read, so that a typo in a path does not cost the whole run."""
import os
import os.path as osp
from typing import Iterable, List, Optional, Tuple

#: Endings of files that a tool's output written over would lose: what the
#: tools read (checkpoints, configs, exported graphs). A file of another
#: ending there is taken for an earlier run's output (infer.py --resume
#: reads its records back from --out, whatever its name).
PRECIOUS_KINDS = ('.pth', '.pt', '.ckpt', '.py', '.yaml', '.yml', '.onnx', '.pkl', '.pickle')


def unwritable_outputs(files: Iterable[Tuple[str, Optional[str], str]] = (),
                       folders: Iterable[Tuple[str, Optional[str]]] = (),
                       inputs: Iterable[str] = (),
                       input_kinds: Tuple[str, ...] = (), create: bool = True) -> List[str]:
    """Why each output cannot be written; empty when all can.

    Args:
        files: ``(flag, path, kind)``, e.g. ``('--out', 'r.jsonl', '.jsonl')``;
            a None path is not asked for. The parent folder is created. A
            file there of a kind no tool writes as output (a checkpoint, a
            config, an ONNX graph) is refused: ``--out model.pth`` replaced a
            checkpoint. ``kind`` is an extension, or a tuple of them.
        folders: ``(flag, path)`` of folders written into (created).
        inputs: the paths read: an output file that is one of them, or a
            file ending in one of ``input_kinds`` below one of them, would
            replace what is read.
        create: make the folders now; else only ask that the nearest one
            there can be written into (a run that then fails leaves none).
    """
    from dld.utils.atomic_file import is_stream
    files = [f for f in files if f[1]]
    problems = clashes(files, inputs, input_kinds)
    targets = []
    for flag, path, kind in files:
        kinds = (kind, ) if isinstance(kind, str) else tuple(kind)
        if is_stream(path):  # /dev/stdout, a pipe: written into, its folder untouched
            if not os.access(path, os.W_OK):
                problems.append(f'{flag} {path} is not writable')
            continue
        if osp.isdir(path):
            problems.append(f'{flag} {path} is a folder; give a {kinds[0]} file')
        elif osp.isfile(path) and path.lower().endswith(PRECIOUS_KINDS) \
                and not path.lower().endswith(kinds):
            problems.append(f'{flag} {path} is a file there, and no {kinds[0]} file: writing it '
                            f'would replace it; give a {kinds[0]} file')
        else:
            targets.append((flag, path, osp.dirname(osp.abspath(path))))
    for flag, path in folders:
        if not path:
            continue
        if osp.exists(path) and not osp.isdir(path):
            problems.append(f'{flag} {path} is a file; give a folder')
        else:
            targets.append((flag, path, osp.abspath(path)))
    for flag, given, folder in targets:
        if not create:
            folder = _nearest_there(folder)
            if not osp.isdir(folder):
                problems.append(f'{flag} {given}: {folder} is a file, not a folder')
            elif not os.access(folder, os.W_OK | os.X_OK):
                problems.append(f'{flag} {given}: {folder} is not writable')
            continue
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            file = _file_above(folder)
            problems.append(f'{flag} {given}: {file} is a file, not a folder' if file else
                            f'{flag} {given}: cannot create {folder}: {err.strerror}')
            continue
        if not os.access(folder, os.W_OK | os.X_OK):
            problems.append(f'{flag} {given}: {folder} is not writable')
    return problems


def _nearest_there(folder: str) -> str:
    """``folder`` or the nearest folder above it that exists (or a file
    standing where one would be)."""
    while not osp.exists(folder) and osp.dirname(folder) != folder:
        folder = osp.dirname(folder)
    return folder


def _file_above(folder: str) -> Optional[str]:
    """The file that stands where ``folder`` or a folder above it would be
    (makedirs said only 'File exists')."""
    there = _nearest_there(folder)
    return there if osp.isfile(there) else None


def clashes(files: List[Tuple[str, str, str]], inputs: Iterable[str] = (),
            input_kinds: Tuple[str, ...] = ()) -> List[str]:
    """Two outputs naming one file (the later replaced the earlier, and the
    summary named both), and outputs naming an input (a label file given
    as ``--out`` became JSON records)."""
    problems, taken = [], {}
    for flag, path, _ in files:
        real = osp.realpath(path)
        if real in taken:
            problems.append(f'{taken[real]} and {flag} name the same file, {path}: give each '
                            'its own')
            continue
        taken[real] = flag
    for given in inputs:
        real_in = osp.realpath(given)
        for flag, path, _ in files:
            real = osp.realpath(path)
            if real == real_in:
                problems.append(f'{flag} {path} is an input: writing it would replace what is '
                                'read; give another file')
            elif (input_kinds and osp.isdir(real_in) and real.startswith(real_in + os.sep)
                  and real.lower().endswith(input_kinds)):
                problems.append(
                    f'{flag} {path} is an image below the input folder {given}: '
                    + ('writing it would replace what is read' if osp.exists(real) else
                       'a run over that folder would read it as a plate') + '; give another file')
    return problems
