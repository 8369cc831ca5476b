"""Keep a DLD checkpoint's student and selector: what inference needs.

    python tools/extract_student.py work_dirs/dld_plate/epoch_20.pth student.pth

The teacher's weights, the optimizer state and the message hub are dropped;
the config and the metadata are kept, so `tools/infer.py CONFIG student.pth`
builds the same model (the teacher's architecture is still built from the
config, for FLOP figures, but its weights are never needed).
"""
import argparse
import io
import os.path as osp
import sys

import torch
from mmengine.fileio import get_file_backend

from dld.engine.checkpoint import ATOMIC_BACKEND, load_checkpoint_file  # noqa: F401

TEACHER_PREFIX = 'teacher.'


def extract_student(src: str, dst: str) -> dict:
    """Write ``dst`` with ``src``'s non-teacher weights; returns a summary."""
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


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a DLD training checkpoint')
    parser.add_argument('out', help='where to write the student+selector checkpoint')
    args = parser.parse_args(argv)
    # checked before the checkpoint is read: writing over it would lose the
    # teacher's weights and the training state
    if osp.exists(args.checkpoint) and osp.exists(args.out) and \
            osp.samefile(args.checkpoint, args.out):
        parser.error(f'{args.out} is the training checkpoint itself; give another file')
    if osp.isdir(args.out):
        parser.error(f'{args.out} is a folder; give the file to write, e.g. '
                     f'{osp.join(args.out, "student.pth")}')
    return args


def main(argv=None) -> int:
    """0 when written; 2, with one line naming the file, when the checkpoint
    cannot be read or is no DLD training checkpoint (nothing written)."""
    import pickle
    args = parse_args(argv)
    try:
        summary = extract_student(args.checkpoint, args.out)
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as err:
        print(f'extract_student.py: {err}', file=sys.stderr)
        return 2
    other = (f' and {summary["other"]} of training ({", ".join(summary["other_names"])})'
             if summary['other'] else '')
    print(f'Wrote {args.out}: {summary["student"]} student, {summary["selector"]} selector'
          f'{other} tensors kept, {summary["dropped"]} teacher tensors dropped.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
