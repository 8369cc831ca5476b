"""Map a checkpoint's decoder rows onto another dictionary, character by character.

    python tools/remap_dictionary.py work_dirs/dld_plate/best.pth my_configs/dld_mine.py \
        remapped.pth
    python tools/train.py my_configs/dld_mine.py --cfg-options load_from=remapped.pth

For fine-tuning on labels with characters the model was not trained with (a
dictionary that adds '-' or lower case, or drops some): each character both
dictionaries hold keeps its trained row, the special tokens keep theirs, a
new character starts from the new model's initialisation. Works on a DLD
checkpoint (teacher and student) and on a teacher's (docs/get_started.md,
"Fine-tuning on your own data"). The optimiser state is dropped: start from
it with load_from (or teacher_ckpt), not --resume.
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument('config', help='the config of the new dictionary (its model is built)')
    parser.add_argument('out', help='where to write the mapped checkpoint')
    parser.add_argument('--old-chars', help='the characters the checkpoint was trained '
                        'with, in dictionary order (default: what it records)')
    from dld.cli_options import ConfigOptionsAction
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, key=value')
    args = parser.parse_args(argv)
    if args.out == args.checkpoint:
        parser.error('out is the checkpoint itself: write the mapped one beside it')
    return args


def main(argv=None) -> int:
    import pickle
    args = parse_args(argv)
    from dld.apis.dictionary_remap import remap_dictionary
    try:
        done = remap_dictionary(args.checkpoint, args.config, args.out, args.old_chars,
                                args.cfg_options)
    except (OSError, RuntimeError, ValueError, KeyError, pickle.UnpicklingError) as err:
        print(f'remap_dictionary.py: {err}', file=sys.stderr)
        return 2
    print(f"Wrote {args.out}: {done['tensors']} decoder tensor(s) mapped from "
          f"{done['old_chars']!r} to {', '.join(repr(c) for c in done['new_chars'])}; "
          f"{len(done['kept'])} characters keep their trained rows, new ones start afresh: "
          f"{''.join(done['added']) or 'none'}; dropped: {''.join(done['dropped']) or 'none'}.")
    return 0


if __name__ == '__main__':
    sys.exit(main())
