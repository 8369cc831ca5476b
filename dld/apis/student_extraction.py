"""Keep a DLD checkpoint's student and selector: what inference needs.

The teacher's weights, the optimizer state and the message hub are dropped;
the config and the metadata are kept, so ``PlateRecognizer(CONFIG,
'student.pth')`` builds the same model (the teacher's architecture is still
built from the config, for FLOP figures, but its weights are never needed).
"""
import io
import os.path as osp

import torch
from mmengine.fileio import get_file_backend

from dld.engine.checkpoint import ATOMIC_BACKEND, CHECKPOINT_ERRORS, load_checkpoint_file

TEACHER_PREFIX = 'teacher.'


def check_extraction_paths(src: str, dst: str) -> None:
    """Refuse ``dst`` where writing it would lose data or fail after the
    read: the training checkpoint itself (its teacher's weights and training
    state lost), a folder, or any existing file but an earlier extraction
    (another run's ``epoch_10.pth`` given as OUT was replaced silently)."""
    if osp.exists(src) and osp.exists(dst) and osp.samefile(src, dst):
        raise ValueError(f'{dst} is the training checkpoint itself; give another file')
    if osp.isdir(dst):
        raise ValueError(f'{dst} is a folder; give the file to write, e.g. '
                         f'{osp.join(dst, "student.pth")}')
    if osp.lexists(dst) and not is_extraction(dst):
        raise ValueError(f'{dst} exists and is no student extracted by DLD (a training '
                         'checkpoint, say): writing it would lose it; give another file, '
                         'or remove it first')


def is_extraction(path: str) -> bool:
    """Whether ``path`` is a checkpoint :func:`extract_student` wrote, which
    a new extraction may replace."""
    import pickle
    try:
        ckpt = load_checkpoint_file(path, map_location='cpu')
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError, *CHECKPOINT_ERRORS):
        return False
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    return isinstance(meta, dict) and 'dld_extracted_from' in meta


def extract_student(src: str, dst: str) -> dict:
    """Write ``dst`` with ``src``'s non-teacher weights, whole or not at all;
    returns a summary (tensors kept and dropped, per part)."""
    check_extraction_paths(src, dst)
    ckpt = load_checkpoint_file(src, map_location='cpu')
    state = ckpt.get('state_dict') if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{src}: no `state_dict` in this checkpoint.')
    if not any(k.startswith(TEACHER_PREFIX) for k in state):
        raise ValueError(f'{src}: no `teacher.*` weights: not a DLD checkpoint '
                         '(or already extracted).')
    kept = {k: v for k, v in state.items() if not k.startswith(TEACHER_PREFIX)}
    meta = dict(ckpt.get('meta') or {})
    meta['dld_extracted_from'] = osp.abspath(src)
    out = dict(state_dict=kept, meta=meta)
    # Write to a temporary file and rename it into place: never a half-written file.
    buf = io.BytesIO()
    torch.save(out, buf)
    get_file_backend(dst, backend_args=dict(backend=ATOMIC_BACKEND)).put(buf.getvalue(), dst)
    student = sum(k.startswith('student.') for k in kept)
    selector = sum(k.startswith('selector.') for k in kept)
    others = sorted({k.split('.')[0] for k in kept
                     if not k.startswith(('student.', 'selector.'))})
    return dict(kept=len(kept), dropped=len(state) - len(kept), student=student,
                selector=selector, other=len(kept) - student - selector, other_names=others)
