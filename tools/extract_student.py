"""Keep a DLD checkpoint's student and selector: what inference needs.

    python tools/extract_student.py work_dirs/dld_plate/epoch_20.pth student.pth

The teacher's weights, the optimizer state and the message hub are dropped;
the config and the metadata are kept, so `tools/infer.py CONFIG student.pth`
builds the same model (the teacher's architecture is still built from the
config, for FLOP figures, but its weights are never needed).
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import os
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a DLD training checkpoint')
    parser.add_argument('out', help='where to write the student+selector checkpoint')
    args = parser.parse_args(argv)
    # imported once the arguments are read: torch (seconds) waits for no --help
    from dld.apis.student_extraction import check_extraction_paths
    # checked before the checkpoint is read: writing over it would lose the
    # teacher's weights and the training state
    try:
        check_extraction_paths(args.checkpoint, args.out)
    except ValueError as err:
        parser.error(str(err))
    return args


def main(argv=None) -> int:
    """0 when written; 2, with one line naming the file, when the checkpoint
    cannot be read or is no DLD training checkpoint (nothing written)."""
    import pickle
    args = parse_args(argv)
    from dld.apis.student_extraction import extract_student
    replacing = ' (an earlier extraction replaced)' if os.path.exists(args.out) else ''
    try:
        summary = extract_student(args.checkpoint, args.out)
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as err:
        print(f'extract_student.py: {err}', file=sys.stderr)
        return 2
    other = (f' and {summary["other"]} of training ({", ".join(summary["other_names"])})'
             if summary['other'] else '')
    print(f'Wrote {args.out}{replacing}: {summary["student"]} student, '
          f'{summary["selector"]} selector{other} tensors kept, {summary["dropped"]} teacher '
          'tensors dropped.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
