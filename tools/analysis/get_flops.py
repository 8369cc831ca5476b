"""FLOPs and parameters of a config's model at each candidate input scale.

    python tools/analysis/get_flops.py CONFIG [--scales 1.0 0.8 ...] [--shape H W]
        [--beam-width W] [--json]

For a DLD config: the student at each of the distiller's scales, alone and
with the selector (which runs on every image), against the teacher at full
resolution. For a recognizer config (teacher, no-KD student): the
recognizer at each scale of ``--shape`` (default 48x144). No checkpoint is
needed: FLOPs depend on the architecture and input size only.

The reading is counted as the config decodes (its ``test_cfg``) or, with
``--beam-width W``, as ``tools/infer.py --beam-width W`` reads: a beam search
of width W is counted in full, an attention decoder on W hypotheses at every
step (an upper bound for a search that stops early), a CTC prefix search
over every frame (exact). The reference (the teacher at full resolution, or
the model at scale 1) decodes greedily.

One fused multiply-add counts as one flop, as fvcore counts; the model runs
once and each ATen operator is counted as it runs (``DLD_FLOP_COUNTER=fvcore``:
fvcore's trace, to check a figure against it).
"""
import dld.tool_start  # noqa: F401  # isort: skip  (first: Ctrl-C as it loads, console encoding)

import argparse
import json
import sys
from typing import Optional

from dld.cli_options import ConfigOptionsAction
from dld.reading_limits import MAX_BEAM_WIDTH, scale_error
from dld.utils.config_types import type_name

DEFAULT_SCALES = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='FLOPs and parameters per input scale.')
    parser.add_argument('config', help='a DLD or recognizer config')
    parser.add_argument('--scales', type=float, nargs='+',
                        help='scales (default: the distiller\'s, else '
                        f'{" ".join(map(str, DEFAULT_SCALES))})')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="base input size, scale 1.0 (default: the distiller's base_size, "
                        'which this sets, else 48 144)')
    parser.add_argument('--beam-width', type=int, metavar='W',
                        help="count a beam search of width W (1: greedy decoding; default: "
                        "the config's decoding)")
    parser.add_argument('--json', action='store_true', help='print JSON instead of a table')
    parser.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                        help='override config settings, as the other tools take them '
                        '(e.g. model.scales=[1.0,0.5])')
    args = parser.parse_args(argv)
    if scale_error('--scales', args.scales or ()):
        parser.error(scale_error('--scales', args.scales))
    if args.beam_width is not None and not 1 <= args.beam_width <= MAX_BEAM_WIDTH:
        parser.error(f'--beam-width must be from 1 to {MAX_BEAM_WIDTH}, got {args.beam_width}')
    if args.shape and min(args.shape) < 1:
        parser.error(f'--shape must be two sizes >= 1, got {args.shape}')
    return args


def flops_table(config, scales=None, shape=None, beam_width=None,
                cfg_options: Optional[dict] = None) -> dict:
    """Per-scale FLOPs and parameter counts of ``config``'s model (random
    weights; ``cfg_options`` applied), its reading decoded as the config says
    or with a beam of ``beam_width`` (1: greedy)."""
    from dld.apis.model_loading import build_model_for_inference, is_distiller_config, load_config
    from dld.apis.scaled_prediction import decoding, recognizer_of
    cfg = load_config(config, cfg_options)
    if shape and is_distiller_config(cfg.model):
        cfg.model.base_size = tuple(int(s) for s in shape)  # the distiller's scale 1.0
    model = build_model_for_inference(cfg.model).eval()
    with decoding(recognizer_of(model), beam_width):
        return _flops_table(cfg, model, scales, shape)


def _flops_table(cfg, model, scales, shape) -> dict:
    from dld.apis.scaled_prediction import (
        RecognizerCosts,
        decoding_of,
        is_distiller,
        recognizer_of,
    )
    from dld.models.distillers.scale_costs import convention
    from dld.utils.flops import (
        count_inference_params,
        count_params,
        flop_counter,
        scale_input_shapes,
    )
    if is_distiller(model):
        base = tuple(model.base_size)
        costs = model.costs
        scales = list(scales or model.scales)
        teacher = costs.teacher_flops
        selector = costs.selector_flops
        params = dict(teacher=count_inference_params(model.teacher),
                      student=count_inference_params(model.student),
                      selector=count_params(model.selector) if model.selector else 0)
    else:
        base = tuple(shape or (48, 144))
        costs = RecognizerCosts(model, base)
        scales = list(scales or DEFAULT_SCALES)
        teacher = costs.teacher_flops
        selector = 0
        params = dict(model=count_inference_params(model))
    rows = []
    for s, (h, w) in zip(scales, scale_input_shapes(base, scales)):
        f = costs.student_flops_at(s)
        rows.append(dict(scale=s, input_size=[h, w], gflops=f / 1e9,
                         greedy_gflops=costs.greedy_flops_at(s) / 1e9,
                         gflops_with_selector=(f + selector) / 1e9 if selector else None,
                         relative_to_full=(f + selector) / teacher))
    return dict(model=type_name(cfg.model.get('type')), base_size=list(base),
                decoding=decoding_of(recognizer_of(model)),
                reference_gflops=teacher / 1e9, selector_gflops=selector / 1e9,
                params=params, scales=rows,
                convention=f'{convention()}; a beam search counted in full (an attention '
                'decoder: W hypotheses at every step, an upper bound; CTC: the prefix search '
                'over every frame, exact); the reference decodes greedily',
                flop_counter=flop_counter(),
                # counted as 0 (named in a warning too): the figures are lower bounds
                uncounted_ops=sorted(costs.uncounted_ops))


def _params(n: int) -> str:
    # below a thousand as counted (a 12-parameter selector read '0.0 K')
    return f'{n / 1e6:.3f} M' if n >= 100_000 else f'{n / 1e3:.1f} K' if n >= 1000 else str(n)


def main(argv=None) -> int:
    args = parse_args(argv)
    from dld.engine.launch import config_errors_exit
    try:
        with config_errors_exit('get_flops.py'):
            table = flops_table(args.config, args.scales, args.shape, args.beam_width,
                                args.cfg_options)
    except (OSError, KeyError, TypeError, ValueError) as err:
        print(f'get_flops.py: {err}', file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    from tabulate import tabulate

    from dld.models.distillers import is_distiller_type
    dld = is_distiller_type(table['model'])
    # a DLD model without a selector (fixed_scale): no column of dashes, no 0 K selector
    selector = dld and bool(table['params'].get('selector'))
    who = 'student' if dld else 'model'
    # the reference is spelt out below the table: a short header keeps it in 80 columns
    ref = 'teacher' if dld else 'scale 1'
    headers = ['scale', 'input (HxW)', f'{who} GFLOPs']
    headers += ['+ selector GFLOPs'] if selector else []
    headers += [f'vs {ref}']
    rows = []
    for r in table['scales']:
        row = [f"{r['scale']:g}", f"{r['input_size'][0]}x{r['input_size'][1]}",
               f"{r['gflops']:.4f}"]
        row += [f"{r['gflops_with_selector']:.4f}" if r['gflops_with_selector'] else '-'] \
            if selector else []
        row += [f"{100 * r['relative_to_full']:.1f}%"]
        rows.append(row)
    import tabulate as tabulate_module
    padding, tabulate_module.MIN_PADDING = tabulate_module.MIN_PADDING, 0  # no 2 spaces more
    try:
        print(tabulate(rows, headers=headers, tablefmt='github', disable_numparse=True))
    finally:
        tabulate_module.MIN_PADDING = padding
    print()
    print(f"{who} decoding: {table['decoding']}")
    print(f"{'teacher' if dld else 'model'} at full resolution "
          f"({table['base_size'][0]}x{table['base_size'][1]}, greedy): "
          f"{table['reference_gflops']:.4f} GFLOPs")
    if selector:
        print(f"selector: {table['selector_gflops']:.6f} GFLOPs")
    elif dld:
        print('selector: none (every image is read at the fixed scale)')
    print('parameters: ' + ', '.join(f'{k} {_params(v)}' for k, v in table['params'].items()
                                     if selector or k != 'selector'))
    print(table['convention'])
    if table['uncounted_ops']:
        # the warning logged above the table scrolls off; the figures are not whole
        print(f"uncounted: no FLOP count for {', '.join(table['uncounted_ops'])}, which "
              'count as 0: the figures are lower bounds (a handle in '
              'dld.utils.flops.EXTRA_FLOP_HANDLES counts them: docs/customize.md, '
              '"FLOPs of your modules")')
    return 0


if __name__ == '__main__':
    sys.exit(main())
