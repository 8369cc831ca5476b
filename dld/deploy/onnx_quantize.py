"""Int8 reading graphs for an ONNX export: faster on a CPU, checked for accuracy.

The convolutions hold most of a reading's FLOPs, so they are quantized
(ONNX Runtime's static quantization: int8 weights per output channel,
uint8 activations with ranges calibrated on plate images, QDQ format); the
decoder's small matrix products and the selector stay float32, where int8
would cost more in conversions than it saves. An int8 graph reads some
plates otherwise, so :func:`compare_precisions` measures how many, and the
export tool refuses one that loses more accuracy than it is allowed.
"""
import contextlib
import logging
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence

import numpy as np

from dld.utils.atomic_file import write_json_atomic

from .onnx_reader import MANIFEST, OnnxPlateReader, read_manifest

#: The operators quantized: where the FLOPs are (the backbone's).
QUANTIZED_OPS = ('Conv', )


def quantize_export(export_dir: str, calibration: Sequence[np.ndarray], description: str,
                    batch_size: int = 32) -> dict:
    """Replace each reading graph of the export in ``export_dir`` by its int8
    version, calibrated on ``calibration`` (images as the reader takes them;
    ``description`` says what they are, for the manifest). The selector is
    left float. Returns the updated manifest."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    manifest = read_manifest(export_dir)
    if manifest.get('precision', 'float32') != 'float32':
        raise ValueError(f'{export_dir}: the export is {manifest["precision"]} already')
    reader = OnnxPlateReader(export_dir)
    inputs = [reader.resize(reader.load(image)) for image in calibration]
    if not inputs:
        raise ValueError('no calibration images')
    for entry in manifest['scales']:
        path = osp.join(export_dir, entry['file'])
        with tempfile.TemporaryDirectory(dir=export_dir, prefix='.quantize-') as tmp, \
                _quiet():
            prepared = osp.join(tmp, 'prepared.onnx')
            # shape inference and graph optimisation first, as ONNX
            # Runtime recommends before quantizing
            quant_pre_process(path, prepared, skip_symbolic_shape=True)
            quantized = osp.join(tmp, 'int8.onnx')
            quantize_static(prepared, quantized, _Batches(inputs, batch_size),
                            quant_format=QuantFormat.QDQ, op_types_to_quantize=list(QUANTIZED_OPS),
                            per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
            os.replace(quantized, path)
    manifest['precision'] = 'int8'
    manifest['int8'] = dict(ops=list(QUANTIZED_OPS), weights='int8, per output channel',
                            activations='uint8', calibration=description,
                            calibration_images=len(inputs), method='MinMax')
    write_json_atomic(osp.join(export_dir, MANIFEST), manifest, indent=2, ensure_ascii=False)
    return manifest


class _Batches:
    """ONNX Runtime's calibration data reader over resized images."""

    def __init__(self, inputs: List[tuple], batch_size: int) -> None:
        self._batches = iter([inputs[i:i + batch_size] for i in range(0, len(inputs), batch_size)])

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        batch = next(self._batches, None)
        if batch is None:
            return None
        return dict(images=np.stack([image for image, _ in batch]),
                    valid_ratio=np.asarray([ratio for _, ratio in batch], dtype=np.float64))


@contextlib.contextmanager
def _quiet():
    """ONNX Runtime's quantization logs its progress and advice at INFO and
    WARNING on the root logger; the tool says what matters itself."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def compare_precisions(float_dir: str, int8_dir: str, images: Sequence[np.ndarray],
                       labels: Optional[Sequence[str]] = None, batch_size: int = 32,
                       threads: Optional[int] = None) -> dict:
    """Read ``images`` with the float export and its int8 version, as the
    model reads them and at each exported scale: how many readings change
    and, with ``labels``, the plate accuracy (%) of each.

    Returns ``dict(images, changed, changed_by_scale, accuracy)`` where
    ``changed`` counts the readings as the model reads them (what a
    deployment sees), ``changed_by_scale`` those at each scale, and
    ``accuracy`` maps ``'float32'``/``'int8'`` to ``{scale or 'model': %}``
    (None without labels).
    """
    readers = dict(float32=OnnxPlateReader(float_dir, threads=threads, batch_size=batch_size),
                   int8=OnnxPlateReader(int8_dir, threads=threads, batch_size=batch_size))
    images = list(images)
    readings = {}
    for name, reader in readers.items():
        for scale in [None] + reader.scales:
            records = reader(images, scale=scale)
            bad = [r for r in records if r['error']]
            if bad:
                raise ValueError(f'the {name} export failed on a check image: {bad[0]["error"]}')
            readings[name, scale] = [r['text'] for r in records]
    scales = [None] + readers['float32'].scales
    changed = {s: sum(a != b for a, b in zip(readings['float32', s], readings['int8', s]))
               for s in scales}
    accuracy = None
    if labels is not None:
        labels = list(labels)
        accuracy = {name: {('model' if s is None else s):
                           100.0 * sum(t == gt for t, gt in zip(readings[name, s], labels))
                           / len(labels) for s in scales} for name in readers}
    return dict(images=len(images), changed=changed.pop(None),
                changed_by_scale=changed, accuracy=accuracy)
