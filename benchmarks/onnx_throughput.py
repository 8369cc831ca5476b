"""CPU throughput of an ONNX export against PyTorch, on the same images.

    python benchmarks/onnx_throughput.py EXPORT_DIR CONFIG CKPT [--batch-size 64]
        [--repeats 5] [--threads 2] [--int8-dir INT8_EXPORT_DIR] [--json OUT]
        [--cfg-options key=value ...]

EXPORT_DIR is what ``tools/deployment/export_onnx.py CONFIG CKPT`` wrote.
One batch of generated plates, resized as the test pipeline resizes them,
is read at every exported scale by the exported graph (ONNX Runtime) and by
the same computation in PyTorch (the data preprocessor, the scale resize,
the student, greedy decoding), then end to end: the selector and the
student at the scales it picks, with the reread cascade when the config
has one (``OnnxPlateReader.read_batch`` against the model's ``predict``).
Times are the median of ``--repeats`` runs after one warm-up, both
libraries on ``--threads`` threads. ``--int8-dir``, an export of the same
model with ``--int8``, adds its graphs, timed in the same rounds.
"""
import argparse
import json
import math
import os.path as osp
import platform
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from benchmarks.numeric_options import at_least  # noqa: E402
from benchmarks.script_exit import json_file, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('export_dir', help='folder written by tools/deployment/export_onnx.py')
    p.add_argument('config', help='the config the export was made from')
    p.add_argument('checkpoint', help='the checkpoint the export was made from (PyTorch reads it)')
    p.add_argument('--batch-size', type=at_least(1), default=64,
                   help='images per timed batch (default: %(default)s)')
    p.add_argument('--repeats', type=at_least(1), default=5,
                   help='timed runs after one warm-up, median printed (default: %(default)s)')
    p.add_argument('--threads', type=at_least(1), default=2,
                   help='threads of ONNX Runtime and of torch')
    p.add_argument('--int8-dir', help='an export of the same model made with --int8, timed '
                   'beside the float one')
    p.add_argument('--json', type=json_file, help='write the figures here')
    from dld.cli_options import ConfigOptionsAction
    p.add_argument('--cfg-options', nargs='+', action=ConfigOptionsAction,
                   help='override config settings, as when exporting')
    return p.parse_args(argv)


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def export_mismatch(manifest: dict, rec, distiller: bool) -> str:
    """Why an export is not of ``rec``'s model ('' where it may be): a DLD
    model's graphs are ``student_*``, a plain recognizer's ``recognizer_*``,
    its input must be made as the model's pipeline makes it (size, colour,
    aspect ratio, padding, interpolation, frame), and its characters must be
    the model's."""
    from dld.deploy.onnx_export import ExportError, input_spec
    files = [s['file'] for s in manifest['scales']]
    if distiller != all(f.startswith('student_') for f in files):
        return (f"its graphs are {files}, the config's model is "
                f"{'a DLD model' if distiller else 'a plain recognizer'}")
    try:
        own = input_spec(rec)
    except ExportError as err:
        return f'the config cannot be exported ({err})'
    own = json.loads(json.dumps(own))  # as the manifest holds it: tuples are lists
    given = manifest['input']
    differ = [f'{key} {given[key]!r} (the model: {value!r})' for key, value in own.items()
              if key in given and given[key] != value]  # exports before 'frame' lack it
    if differ:
        return 'its input is made otherwise: ' + ', '.join(differ)
    dictionary = rec.recognizer.dictionary
    if manifest['decoder']['chars'] != list(dictionary.dict[:dictionary.num_chars]):
        return "its characters are not the model's"
    kind = 'ctc' if rec.recognizer.decoder.logits_per_frame else 'attention'
    if manifest['decoder'].get('kind', kind) != kind:
        return f"its decoder is {manifest['decoder']['kind']}, the model's {kind}"
    # each graph's cost is its architecture's: another model of the same
    # input, characters and decoder kind (widths, layers) costs otherwise
    for entry in manifest['scales']:
        own = rec.costs.greedy_flops_at(entry['scale']) / 1e9
        if not math.isclose(entry['gflops'], own, rel_tol=1e-6):
            return (f"its graph at {entry['scale']:g}x costs {entry['gflops']:.4f} GFLOPs, the "
                    f"model {own:.4f}: another architecture")
    return ''


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch
    from mmengine.dataset import pseudo_collate
    from tabulate import tabulate

    from dld.apis import PlateRecognizer, load_config
    from dld.apis.scaled_prediction import decoding, is_distiller
    from dld.deploy.onnx_export import synthetic_check_images
    from dld.deploy.onnx_reader import OnnxPlateReader
    from dld.deploy.reading_graphs import ScaleReadingGraph
    from dld.structures import PlateDataSample

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options)
    rec = PlateRecognizer(cfg, args.checkpoint, device='cpu')
    try:
        reader = OnnxPlateReader(args.export_dir, threads=args.threads,
                                 batch_size=args.batch_size)
        int8 = None
        if args.int8_dir:
            int8 = OnnxPlateReader(args.int8_dir, threads=args.threads,
                                   batch_size=args.batch_size)
    except (OSError, ValueError) as err:
        print(f'onnx_throughput.py: {err}', file=sys.stderr)
        return 2
    if reader.precision != 'float32':
        print(f'{args.export_dir} is an {reader.precision} export: give the float one, and '
              'this one as --int8-dir', file=sys.stderr)
        return 2
    if int8 is not None and (int8.precision != 'int8' or int8.scales != reader.scales):
        print(f'--int8-dir {args.int8_dir} is not an int8 export of the scales of '
              f'{args.export_dir} ({reader.scales})', file=sys.stderr)
        return 2
    for name, export in ((args.export_dir, reader), (f'--int8-dir {args.int8_dir}', int8)):
        mismatch = export and export_mismatch(export.manifest, rec, is_distiller(rec.model))
        if mismatch:
            print(f'{name} is not an export of {args.config}: {mismatch}', file=sys.stderr)
            return 2
    if is_distiller(rec.model) and not set(reader.scales) <= set(rec.model.scales):
        print(f'{args.export_dir} holds scales {reader.scales}, which {args.config} has not '
              f'({list(rec.model.scales)}): export this config first', file=sys.stderr)
        return 2
    images = synthetic_check_images(args.batch_size, seed=11)
    resized = [reader.resize(reader.load(img)) for img in images]
    batch = np.stack([r[0] for r in resized])
    ratios = np.asarray([r[1] for r in resized], dtype=np.float64)
    t_batch, t_ratios = torch.from_numpy(batch), torch.from_numpy(ratios)
    n = len(images)
    rows, figures = [], dict(batch_size=n, threads=args.threads, scales={})
    for scale in reader.scales:
        graph = ScaleReadingGraph(rec.recognizer, rec.model.data_preprocessor, scale,
                                  rec.base_size).eval()

        def torch_read(graph=graph):
            with torch.no_grad():
                graph(t_batch, t_ratios)

        def ort_read(session=reader._sessions[scale]):
            session.run(None, {'images': batch, 'valid_ratio': ratios})

        t_ort = _median_seconds(ort_read, args.repeats)
        t_torch = _median_seconds(torch_read, args.repeats)
        figures['scales'][f'{scale:g}'] = dict(onnxruntime=n / t_ort, torch=n / t_torch)
        rows.append([f'student @{scale:g}', f'{n / t_ort:.0f}', f'{n / t_torch:.0f}',
                     f'{t_torch / t_ort:.2f}x'])
        if int8 is not None:
            def int8_read(session=int8._sessions[scale]):
                session.run(None, {'images': batch, 'valid_ratio': ratios})

            t_int8 = _median_seconds(int8_read, args.repeats)
            figures['scales'][f'{scale:g}']['onnxruntime_int8'] = n / t_int8
            rows[-1] += [f'{n / t_int8:.0f}', f'{t_ort / t_int8:.2f}x']

    def torch_end_to_end():
        packed = []
        for img, ratio in resized:
            sample = PlateDataSample(metainfo=dict(valid_ratio=ratio))
            packed.append(dict(inputs=torch.from_numpy(img).permute(2, 0, 1),
                               data_samples=sample))
        data = rec.model.data_preprocessor(pseudo_collate(packed), False)
        with torch.no_grad(), decoding(rec.recognizer, beam_width=1):
            if is_distiller(rec.model):
                rec.model.predict(data['inputs'], data['data_samples'])
            else:
                rec.recognizer.predict(data['inputs'], data['data_samples'])

    t_ort = _median_seconds(lambda: reader.read_batch(batch, ratios), args.repeats)
    t_torch = _median_seconds(torch_end_to_end, args.repeats)
    what = 'DLD + selector' if reader._selector is not None else 'fixed scale'
    if reader.reread:
        what += ' + reread'
    figures['end_to_end'] = dict(what=what, onnxruntime=n / t_ort, torch=n / t_torch)
    rows.append([what, f'{n / t_ort:.0f}', f'{n / t_torch:.0f}', f'{t_torch / t_ort:.2f}x'])
    headers = ['reading', 'ONNX Runtime', 'PyTorch', 'ONNX speed-up']
    if int8 is not None:
        t_int8 = _median_seconds(lambda: int8.read_batch(batch, ratios), args.repeats)
        figures['end_to_end']['onnxruntime_int8'] = n / t_int8
        rows[-1] += [f'{n / t_int8:.0f}', f'{t_ort / t_int8:.2f}x']
        headers += ['ONNX int8', 'int8 speed-up (vs ONNX float)']
    import onnxruntime
    print(f'Inference throughput (images/s), batch {n}, median of {args.repeats}, '
          f'{args.threads} thread(s), onnxruntime {onnxruntime.__version__}, torch '
          f'{torch.__version__}, {platform.machine()}')
    print(tabulate(rows, headers=headers))
    if args.json:
        write_json_atomic(args.json, figures, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'onnx_throughput.py'))
