"""Export a DLD model (student + selector, or a plain recognizer) to ONNX.

One graph per scale (:class:`~dld.deploy.reading_graphs.ScaleReadingGraph`)
and one for the selector, with a manifest (``dld_onnx.json``) that holds
what :class:`~dld.deploy.onnx_reader.OnnxPlateReader` needs besides them:
the input resize, the characters, each graph's GFLOPs, the config's fixed
scale and reread cascade. The model comes from a
:class:`~dld.apis.PlateRecognizer`, so the export reads the config as
inference does, and :func:`compare_readings` checks the two readers agree.
"""
import contextlib
import datetime
import io
import logging
import math
import os.path as osp
import sys
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log

from dld.apis.plate_recognizer import PlateRecognizer
from dld.apis.scaled_prediction import decoding_of, is_distiller
from dld.utils.atomic_file import write_json_atomic
from dld.version import __version__

from .onnx_reader import (
    BIAS_FORMAT_VERSION,
    FORMAT,
    FORMAT_VERSION,
    INTERPOLATIONS,
    MANIFEST,
    OnnxPlateReader,
)
from .reading_graphs import ScaleReadingGraph, SelectorGraph

#: The opset of the exported graphs: 18 has Resize's antialias, which
#: DLD's scale resize needs.
DEFAULT_OPSET = 18
#: The test pipeline an export can reproduce without PyTorch (after
#: PlateRecognizer removed its loading and HR-to-LR steps).
EXPORTABLE_PIPELINE = ('ResizePair', 'PackPlateInputs')


class ExportError(ValueError):
    """The model or its config cannot be exported as asked."""


def scale_file(scale: float, plain: bool = False) -> str:
    """A DLD student's graph at ``scale``, or a plain recognizer's."""
    return f'{"recognizer" if plain else "student"}_{scale:g}.onnx'


def export_onnx(recognizer: PlateRecognizer, out_dir: str,
                scales: Optional[Sequence[float]] = None,
                opset: int = DEFAULT_OPSET) -> dict:
    """Write the graphs and the manifest of ``recognizer``'s model into
    ``out_dir`` (an existing folder) and return the manifest.

    ``scales``: which to export; default a DLD model's candidate scales,
    1.0 for a plain recognizer. A DLD model needs all of its candidates when
    its selector or reread cascade may choose them.
    """
    model, rec = recognizer.model, recognizer.recognizer
    check_exporter()
    if rec.training or model.training:
        raise ExportError('export a model in eval mode (PlateRecognizer sets it)')
    base_size = tuple(int(s) for s in recognizer.base_size)
    scales = _export_scales(recognizer, scales)
    spec = input_spec(recognizer)  # refused before the slow part
    test_cfg = dict(getattr(model, 'test_cfg', None) or {}) if is_distiller(model) else {}
    selector = getattr(model, 'selector', None) if is_distiller(model) else None
    if test_cfg.get('force_scale') is not None:
        selector = None  # never runs: every image is read at the fixed scale
    if getattr(selector, 'gumbel_at_test', False):
        raise ExportError('the selector adds Gumbel noise when reading (gumbel_at_test=True), '
                          'so its choices are random; export with --cfg-options '
                          'model.selector.gumbel_at_test=False to pick by its logits')
    if rec.test_cfg.get('decode') != 'greedy':
        print_log(f'The config decodes by {decoding_of(rec)}; the exported graphs decode '
                  'greedily (the export is checked against greedy readings).',
                  logger='current', level=logging.WARNING)
    device = next(model.parameters()).device
    h, w = base_size
    channels = 1 if recognizer.color_type == 'grayscale' else 3
    images = torch.zeros(2, h, w, channels, dtype=torch.uint8, device=device)
    # float64, as the reader computes it and PyTorch's content mask reads it:
    # in float32, ceil(r * T) is one step more for some widths once T >= 45
    ratios = torch.tensor([1.0, 0.5], dtype=torch.float64, device=device)
    costs = recognizer.costs
    plain = not is_distiller(model)
    entries = []
    for s in scales:
        graph = ScaleReadingGraph(rec, model.data_preprocessor, s, base_size).eval()
        outputs = ['tokens', 'token_logp'] if graph.attention else ['log_probs']
        _export(graph, (images, ratios), osp.join(out_dir, scale_file(s, plain)),
                ['images', 'valid_ratio'], outputs, opset, f'the reading at scale {s:g}')
        entries.append(dict(scale=s, file=scale_file(s, plain),
                            gflops=costs.greedy_flops_at(s) / 1e9))
    selector_entry = None
    if selector is not None:
        _export(SelectorGraph(selector, model.data_preprocessor).eval(), (images, ),
                osp.join(out_dir, 'selector.onnx'), ['images'], ['logits'], opset,
                'the selector')
        selector_entry = dict(file='selector.onnx', gflops=costs.selector_flops / 1e9,
                              scales=[float(s) for s in model.scales])
        bias = test_cfg.get('selector_bias')
        # a bias of one value for every scale moves no argmax: left out, the
        # export stays of format 1, which readers before the bias also read
        if bias is not None and len({float(b) for b in bias}) > 1:
            selector_entry['bias'] = [float(b) for b in bias]
    manifest = dict(
        format=FORMAT,
        version=BIAS_FORMAT_VERSION if (selector_entry or {}).get('bias') else FORMAT_VERSION,
        opset=opset, precision='float32',
        exported=dict(dld=__version__, torch=torch.__version__,
                      date=datetime.datetime.now().isoformat(timespec='seconds')),
        input=spec,
        decoder=_decoder_spec(rec),
        scales=entries,
        selector=selector_entry,
        fixed_scale=_fixed_scale(model, test_cfg),
        reread=test_cfg.get('reread') or None,
        teacher_gflops=costs.teacher_flops / 1e9)
    write_json_atomic(osp.join(out_dir, MANIFEST), manifest, indent=2, ensure_ascii=False)
    return manifest


def _export_scales(recognizer: PlateRecognizer, scales: Optional[Sequence[float]]
                   ) -> List[float]:
    model = recognizer.model
    if is_distiller(model):
        candidates = [float(s) for s in model.scales]
        cfg = dict(model.test_cfg or {})
        fixed = _fixed_scale(model, cfg)
        # what the model may read: its fixed (or forced) scale, else the
        # selector's candidates, and the reread cascade's scales
        needed = {fixed} if fixed is not None else set(candidates)
        if cfg.get('reread') and cfg.get('force_scale') is None:
            needed |= {float(s) for s in cfg['reread']['scales']}
        if scales is not None:
            chosen = [float(s) for s in scales]
        else:
            chosen = [s for s in candidates if s in needed] + sorted(needed - set(candidates))
        missing = sorted(needed - set(chosen), reverse=True)
        if missing:
            raise ExportError(f'--scales {chosen} leaves out {missing}, which the model reads '
                              "(its selector's candidates, fixed scale or reread cascade)")
    else:
        chosen = [1.0] if scales is None else [float(s) for s in scales]
        if 1.0 not in chosen:
            chosen = [1.0] + chosen  # what the recognizer reads unless told otherwise
    bad = [s for s in chosen if not (math.isfinite(s) and s > 0)]
    if bad:
        raise ExportError(f'scales must be > 0, got {bad}')
    return sorted(set(chosen), key=chosen.index)


def _fixed_scale(model, test_cfg: dict) -> Optional[float]:
    """The scale every image is read at without a selector's choice."""
    if test_cfg.get('force_scale') is not None:
        return float(test_cfg['force_scale'])
    if is_distiller(model):
        return None if model.selector is not None else float(model.scales[0])
    return 1.0


def input_spec(recognizer: PlateRecognizer) -> dict:
    """How the reader makes the graphs' input: the pipeline's resize (the
    manifest's ``input``; benchmarks/onnx_throughput.py checks an export
    against its config by it)."""
    steps = list(recognizer.pipeline.transforms)
    names = tuple(type(t).__name__ for t in steps)
    if names != EXPORTABLE_PIPELINE:
        raise ExportError(
            f'the test pipeline (without loading) is {list(names)}; an export reproduces '
            f'{list(EXPORTABLE_PIPELINE)} only, so these readings would differ from '
            "PlateRecognizer's: read with tools/infer.py, or export a config whose test "
            'pipeline is LoadPlateImages, ResizePair, PackPlateInputs')
    resize = steps[0]
    if resize.interpolation not in INTERPOLATIONS:
        raise ExportError(f'ResizePair interpolation {resize.interpolation!r} is not one of '
                          f'{sorted(INTERPOLATIONS)}')
    hr = recognizer.image_stream == 'hr'
    size = resize.hr_size if hr else resize.lr_size
    divisor = int(getattr(recognizer.model.data_preprocessor, 'pad_size_divisor', 1) or 1)
    if any(s % divisor for s in size):
        raise ExportError(
            f'the data preprocessor pads the {size[0]}x{size[1]} input to a multiple of '
            f'pad_size_divisor={divisor}, which tools/test.py reads padded and inference '
            'resizes back: give the pipeline a size the divisor divides, or a divisor that '
            'divides it')
    if tuple(size) != tuple(recognizer.base_size):
        raise ExportError(f'the pipeline resizes to {tuple(size)} but the model reads '
                          f'{tuple(recognizer.base_size)} at scale 1.0')
    # stream: which resize applies; frame: which crop of a paired track the
    # model reads (the efficiency setting's student reads the HR crop)
    return dict(stream=recognizer.image_stream, frame=recognizer.input_stream,
                color_type=recognizer.color_type,
                size=[int(s) for s in size], keep_ratio=bool(resize.lr_keep_ratio and not hr),
                pad_value=resize.pad_value, interpolation=resize.interpolation)


def _decoder_spec(rec) -> dict:
    d = rec.dictionary
    chars = list(d.dict[:d.num_chars])
    if rec.decoder.reads_padded_memory:
        return dict(kind='attention', chars=chars, end_idx=int(d.end_idx))
    return dict(kind='ctc', chars=chars, blank_idx=int(d.blank_idx))


def check_exporter() -> None:
    """Raise :class:`ExportError` where torch has no dynamo ONNX exporter or
    its dependencies are missing, before anything is traced."""
    import inspect
    if 'dynamo' not in inspect.signature(torch.onnx.export).parameters:
        raise ExportError(f'this torch ({torch.__version__}) has no dynamo ONNX exporter; '
                          'the export needs torch >= 2.6')
    missing = [m for m in ('onnx', 'onnxscript', 'onnxruntime') if not _importable(m)]
    if missing:
        raise ExportError(f'{", ".join(missing)} not installed: install the export '
                          "dependencies with pip install 'dld[deploy]'")


def _data_dependent_place(err: BaseException) -> Optional[str]:
    """Where torch.export refused ``err``'s graph for a branch on a tensor's
    values (a data-dependent guard, anywhere in its chain): ``' (at
    file:line, in forward)'`` as its message names the user's code, ``''``
    where it does not; None for an error of another kind."""
    import re
    seen = set()
    while err is not None and id(err) not in seen:
        if 'DataDependent' in type(err).__name__:
            found = re.search(r'File "([^"]+)", line (\d+), in (\S+)', str(err))
            return f' (at {found[1]}:{found[2]}, in {found[3]})' if found else ''
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(package)
    except PackageNotFoundError:
        return 'unknown version'


def _importable(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def _export(module: torch.nn.Module, args: tuple, path: str, input_names: List[str],
            output_names: List[str], opset: int, part: str = 'the model') -> None:
    """Trace ``module`` on ``args`` into ``path``, the batch size left free,
    in ``opset`` (the exporter falls back to another where it cannot);
    ``part``: what the graph reads, as an error names it."""
    batch = torch.export.Dim('batch', min=1, max=65536)
    # symbolic_shapes: a 40-line dump of the graph where a part branches on values
    loggers = [logging.getLogger(name) for name in (
        'torch.onnx', 'onnxscript', 'torch.fx.experimental.symbolic_shapes')]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), torch.no_grad():
        # the exporter's notes on torchvision ops it skips, deprecated pytree
        # names and constant folding it skips are not the user's business
        warnings.simplefilter('ignore')
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        # torch.export prints a failed graph to stderr; caught here, all of the
        # process's stderr is held back while it exports (a tool's one export
        # at a time: a library caller printing from another thread meanwhile
        # sees it late)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stderr(printed):
                program = torch.onnx.export(module, args, dynamo=True, opset_version=opset,
                                            input_names=input_names,
                                            output_names=output_names,
                                            dynamic_shapes=tuple({0: batch} for _ in args),
                                            verbose=False)
        except Exception as err:
            place = _data_dependent_place(err)
            if place is not None:  # some 250 lines of the exporter's traceback
                raise ExportError(
                    f"{part} branches on the image's values{place} (a Python `if` on a "
                    'tensor, or a size taken from one, as the build\'s FLOPs warning may '
                    'have said): an ONNX graph holds one path. Write a branch with '
                    'torch.where (both paths computed) or torch.cond to export it') from None
            # an onnxscript older than this torch's exporter: a 40-line traceback
            if isinstance(err, ModuleNotFoundError) and (err.name or '').startswith('onnxscript'):
                raise ExportError(f"torch {torch.__version__}'s exporter needs a newer "
                                  f'onnxscript than the one installed '
                                  f'({_version_of("onnxscript")}: no {err.name}): '
                                  "pip install -U 'onnxscript>=0.6'") from None
            sys.stderr.write(printed.getvalue())  # an error of another kind: as it came
            raise
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
    sys.stderr.write(printed.getvalue())
    program.save(path)
    written = int(program.model.opset_imports.get('', opset))
    if written != opset:
        raise ExportError(f"opset {opset} was asked, torch's exporter wrote {written}; give "
                          'an opset the installed onnx package converts to')


def compare_readings(recognizer: PlateRecognizer, out_dir: str,
                     images: Sequence[np.ndarray], batch_size: int = 32,
                     tolerance: float = 1e-3) -> dict:
    """Read ``images`` with ``recognizer`` (greedy) and with the export, as
    the model reads them and then at every exported scale (each graph runs,
    whichever scales the selector picks): how many readings agree (text,
    scales read, GFLOPs, and confidence within ``tolerance``, absolute and
    in its logarithm, since an unsure model's are tiny), the largest
    confidence difference, and the first images that differ."""
    reader = OnnxPlateReader(out_dir, batch_size=batch_size, threads=torch.get_num_threads())
    images = list(images)
    saved, recognizer.batch_size = recognizer.batch_size, batch_size
    torch_out, onnx = [], []
    try:
        for scale in [None] + reader.scales:
            torch_out += recognizer(images, beam_width=1, scale=scale)['predictions']
            onnx += reader(images, scale=scale)
    finally:
        recognizer.batch_size = saved
    differ, score_diff, gflops_diff = [], 0.0, 0.0
    for i, (a, b) in enumerate(zip(torch_out, onnx)):
        for reader_name, record in (('PlateRecognizer', a), ('the export', b)):
            if record.get('error'):
                raise ExportError(f'{reader_name} failed on check image {i}: '
                                  f'{record["error"]}')
        score_diff = max(score_diff, abs(a['confidence'] - b['confidence']))
        gflops_diff = max(gflops_diff, abs(a['gflops'] - b['gflops']))
        if (a['text'], a['scales_read']) != (b['text'], b['scales_read']) or \
                not _close(a['confidence'], b['confidence'], tolerance) or \
                not abs(a['gflops'] - b['gflops']) <= 1e-9:
            differ.append(dict(index=i % len(images), torch=(a['text'], a['scale'],
                                                              float(f"{a['confidence']:.4g}")),
                               onnx=(b['text'], b['scale'], float(f"{b['confidence']:.4g}"))))
    return dict(images=len(images), readings=len(onnx), same=len(onnx) - len(differ),
                differ=differ[:10], max_score_diff=score_diff, max_gflops_diff=gflops_diff,
                graphs=len(reader.scales) + (reader._selector is not None))


#: Confidences below this are taken as 0: PyTorch scores in float32, whose
#: numbers end near 1e-38 (losing digits on the way), the reader in float64.
NEGLIGIBLE_CONFIDENCE = 1e-30


def _close(a: float, b: float, tolerance: float) -> bool:
    """Within ``tolerance``, and so are their logarithms, unless both are
    negligible."""
    if not abs(a - b) <= tolerance:
        return False
    if min(a, b) < NEGLIGIBLE_CONFIDENCE:
        return max(a, b) < NEGLIGIBLE_CONFIDENCE
    return abs(math.log(a) - math.log(b)) <= tolerance


def synthetic_check_images(count: int, seed: int = 0) -> List[np.ndarray]:
    """``count`` plates of the built-in generator, LR and HR frames in turn
    (so widths and sharpness vary as in use), to compare the readers on."""
    return synthetic_plates(count, seed)[0]


def synthetic_plates(count: int, seed: int = 0, frame: Optional[str] = None
                     ) -> Tuple[List[np.ndarray], List[str]]:
    """``count`` plates of the built-in generator and their texts: the
    ``frame`` (``'lr'`` or ``'hr'``) of each track, or both in turn."""
    from dld.datasets.degradation import DegradationConfig
    from dld.datasets.synth.generator import render_track, resolve_layouts
    layouts, weights = resolve_layouts(('brazilian', 'mercosur'))
    degradation = DegradationConfig.from_dict(None)
    images, labels = [], []
    for i in range(count):
        track = render_track((seed, 7, i), layouts, weights, 1, (64, 192), degradation)
        images.append(track[frame or ('lr' if i % 2 == 0 else 'hr')][0])
        labels.append(track['label'])
    return images, labels
