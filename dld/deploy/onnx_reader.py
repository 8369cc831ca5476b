"""Read plates with an exported DLD model on ONNX Runtime, without PyTorch.

This file imports numpy, OpenCV and onnxruntime only: copy it beside a
folder written by ``tools/deployment/export_onnx.py`` and it reads plates
where neither PyTorch nor DLD is installed::

    python onnx_reader.py exported/ a.png b.jpg

It reads as :class:`dld.apis.PlateRecognizer` does with greedy decoding:
the selector picks each image's scale, the student reads it there, and a
reread cascade of the config reads unsure images again at larger scales.
The export checks that both give the same readings.
"""
import argparse
import collections.abc
import json
import math
import numbers
import os
import os.path as osp
import re
import sys
import threading
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

MANIFEST = 'dld_onnx.json'
FORMAT = 'dld-onnx'
FORMAT_VERSION = 1
#: an export whose selector has a ``bias`` (``test_cfg.selector_bias``): a
#: reader of version 1 would ignore it and choose other scales, so refuses it
BIAS_FORMAT_VERSION = 2
READABLE_VERSIONS = (FORMAT_VERSION, BIAS_FORMAT_VERSION)
INTERPOLATIONS = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
                      bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)
#: Image files a folder given to the command line is searched for.
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm',
                    '.pgm', '.pbm', '.jp2')
#: Files that are text (a label file, say), said as such rather than as a
#: corrupt image.
TEXT_EXTENSIONS = ('.txt', '.csv', '.json', '.jsonl', '.tsv')
#: Larger images are refused before decoding, as DLD's inference does.
DEFAULT_MAX_PIXELS = 16384 * 16384
#: A frame of a track folder of the ICPR layout (``lr-001.png``, ``HR-2.bmp``:
#: an image ending), as DLD's ``LRLPRTrackDataset`` names them.
TRACK_FRAME = re.compile(r'^(lr|hr)-(\d+)(\.[^.]+)$', re.IGNORECASE)


def _track_frame(name: str) -> Optional[Tuple[str, int]]:
    """``('lr' | 'hr', number)`` of a frame's file name, else None."""
    m = TRACK_FRAME.match(name)
    if m is None or m.group(3).lower() not in IMAGE_EXTENSIONS:
        return None
    return m.group(1).lower(), int(m.group(2))


def _no_lr_frames(names: List[str], shown: int = 3) -> str:
    """What a track folder without ``lr-*`` frames holds instead (as DLD's
    ``no_lr_frames`` says it; this file imports no DLD)."""
    images = sorted(n for n in names
                    if n.lower().endswith(IMAGE_EXTENSIONS) and _track_frame(n) is None)
    more = f' and {len(images) - shown} more' if len(images) > shown else ''
    otherwise = (f"named otherwise, e.g. {', '.join(images[:shown])}{more}: a frame "
                 f"is lr-<N> or hr-<N> with an image ending, {' '.join(IMAGE_EXTENSIONS)}")
    if any((_track_frame(n) or ('', ))[0] == 'hr' for n in names):
        return ('its hr-* frames have no LR frames to pair with'
                + (f'; it holds images {otherwise}' if images else ''))
    return f'its images are {otherwise}' if images else 'it holds no image'


#: As DLD's ``lrlpr_track_dataset.MAX_TRACK_ANNOTATION``: a larger
#: annotations.json is an export's, not a track's.
MAX_TRACK_ANNOTATION = 64 * 1024


def _is_track_folder(folder: str, names: List[str]) -> bool:
    """As DLD's ``is_track_folder``: a frame, or an ``annotations.json``
    with a ``plate_text``."""
    if any(_track_frame(n) is not None for n in names):
        return True
    path = osp.join(folder, 'annotations.json')
    if 'annotations.json' not in names or osp.getsize(path) > MAX_TRACK_ANNOTATION:
        return False  # a large one is an export's
    try:
        with open(path, 'rb') as f:
            ann = json.loads(f.read().decode('utf-8-sig'))
    except (OSError, ValueError, RecursionError):  # a RecursionError: nested too deeply
        return False
    return isinstance(ann, dict) and 'plate_text' in ann

ImageLike = Union[str, os.PathLike, np.ndarray, bytes]
#: The encoded image kinds read as one image each (a request's body).
ENCODED = (bytes, bytearray, memoryview)
ACCEPTED = ('an image path, a numpy array (H, W[, C]) or the bytes of an encoded image, or '
            'a list of them')


class ImageInputError(ValueError):
    """An input that is no readable image: its record's ``error`` and
    ``error_type`` (as DLD's ``ImageInputError``), not the call's failure."""


def _unsupported(obj) -> str:
    """Why ``obj`` is no input (a torch tensor: what to give instead)."""
    name = 'None' if obj is None else type(obj).__name__
    if type(obj).__module__.startswith('torch'):
        return (f'a torch {name} is not an input: give tensor.cpu().numpy(), (H, W, C) BGR, '
                f'or {ACCEPTED}')
    return f'unsupported input type {name}; give {ACCEPTED}'


def array_shape_hint(img: np.ndarray) -> str:
    """What an array of no image's shape may be, for its error: ``''``, or
    ``'; ...'`` saying how to give it."""
    if img.ndim == 1 and img.dtype == np.uint8:
        # np.frombuffer(request.body, np.uint8): an encoded file's bytes, not pixels
        return ("; an encoded image file's bytes (np.frombuffer of a request body)? give them "
                'as bytes')
    if img.ndim == 4 and img.shape[-1] in (1, 3, 4):
        return f'; a batch of {img.shape[0]} images? give them as a list (list(batch))'
    if img.ndim == 3 and img.shape[0] in (1, 3, 4) and img.shape[2] not in (1, 3, 4):
        return '; channels first (C, H, W)? give img.transpose(1, 2, 0)'
    return ''


def array_to_uint8(img: np.ndarray) -> np.ndarray:
    """An image array's pixels as uint8, as DLD reads arrays: uint16 scaled
    down, float in [0, 1] or [0, 255], bool, or another integer type holding
    values in [0, 255]. ValueError (without the image's name) otherwise.

    A uint16 array whose values all lie in [0, 255] holds 8-bit pixels (an
    8-bit image cast up): scaled down, it read as a black image."""
    if img.dtype == np.uint8:
        return img
    if img.dtype.kind == 'u' and img.dtype.itemsize == 2:  # big-endian ('>u2') too
        if int(img.max(initial=0)) <= 255:
            return img.astype(np.uint8)
        return (img.astype(np.uint16) >> 8).astype(np.uint8)
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.floating):
        if not np.isfinite(img).all():
            raise ValueError('float image holds NaN or infinity')
        scale = 255.0 if img.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(np.rint(img * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(img.dtype, np.integer):
        # int64 from np.array(...) of 8-bit values is common; 16-bit data in
        # an int32 array is not 8-bit, and clipping it read another plate.
        low, high = int(img.min()), int(img.max())
        if low < 0 or high > 255:
            raise ValueError(f'{img.dtype} array with values from {low} to {high}: give uint8 '
                             '(0-255), uint16 (0-65535), or float ([0, 1] or [0, 255])')
        return img.astype(np.uint8)
    raise ValueError(f'unsupported array dtype {img.dtype}')


_WARNED_DIM_SIXTEEN_BIT = False


def _warn_dim_sixteen_bit(high: int, source: str) -> None:
    """Warn on stderr, once a process, of a 16-bit file whose values reach
    above 255 but below 4096 (a 10- or 12-bit sensor's): read by its high
    byte, as DLD's datasets and tools/infer.py read it (they warn too), it is
    at most 16 grey levels, nearly black."""
    global _WARNED_DIM_SIXTEEN_BIT
    if _WARNED_DIM_SIXTEEN_BIT or not 255 < high < 4096:
        return
    _WARNED_DIM_SIXTEEN_BIT = True
    print(f'warning: {source}: a 16-bit image whose values reach only {high} '
          f'({high.bit_length()} bits) is read by its high byte as grey levels 0 to '
          f'{high >> 8}: nearly black. A sensor of fewer bits (a 10- or 12-bit infrared '
          'camera) saved in 16-bit files: convert them to 8 bits by its depth first '
          '(img >> (bits - 8)) (said once a process)', file=sys.stderr)


def checked_providers(providers, available: Sequence[str]) -> list:
    """``providers`` as ONNX Runtime takes them, each available here. A
    string was split into one-letter providers (20 warnings, then the CPU),
    and a provider not installed (``CUDAExecutionProvider`` without CUDA)
    fell back to the CPU without a word, where ``PlateRecognizer(device=
    'cuda')`` refuses."""
    if not providers:
        return ['CPUExecutionProvider']
    if isinstance(providers, str):
        providers = [providers]
    providers = list(providers)
    for provider in providers:
        # an entry is a name or (name, its options)
        name = provider[0] if isinstance(provider, (tuple, list)) and provider else provider
        if not isinstance(name, str):
            raise ValueError(f'providers: {provider!r} is no execution provider; give names '
                             f'such as {list(available)}')
        if name not in available:
            raise ValueError(f'providers: {name} is not available here (ONNX Runtime has '
                             f'{list(available)}); '
                             + ('onnxruntime-gpu and a CUDA device read on the GPU'
                                if name.startswith('CUDA') else 'give one of those'))
    return providers


class OnnxPlateReader:
    """Plate readings from an exported model folder.

    Args:
        model_dir: the folder ``export_onnx.py`` wrote (``dld_onnx.json``
            and its ``.onnx`` files).
        providers: ONNX Runtime execution providers (names, or ``(name,
            options)``; one name alone too), default the CPU's; one not
            available here is refused.
        threads: threads of each session's operators (ONNX Runtime's
            ``intra_op_num_threads``); None: its default, every core.
        batch_size: images per graph run.
        max_pixels: larger images are refused (an error record), as
            ``PlateRecognizer`` refuses them; None for no limit.

    Calling it with image paths, the bytes of encoded images or arrays
    (``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` BGR or ``(H, W, 4)`` BGRA;
    uint8, or as ``PlateRecognizer`` takes them: uint16, float in [0, 1] or
    [0, 255], another integer type of values in [0, 255]), one or a list,
    returns one dict per image, with the keys of ``PlateRecognizer``'s
    records: ``input`` (the path, or ``array[i]``, ``bytes[i]``), ``text``,
    ``confidence`` (the model's probability of the text), ``scale`` (of the
    kept reading), ``scales_read`` (every scale read, in order), ``gflops``
    (what the reading cost, the selector included), ``scale_probs`` (the
    selector's probability of each candidate, ``{'<scale>': p}``; None where
    it did not choose), ``truncated`` (None: the graphs do not say whether
    ``max_seq_len`` cut a reading),
    ``error`` and
    ``error_type``: None, or why the image could not be read and
    ``'ImageInputError'`` (its other values are then None), so that one bad
    file does not stop the rest.
    """

    def __init__(self, model_dir: str, providers: Optional[Sequence[str]] = None,
                 threads: Optional[int] = None, batch_size: int = 32,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> None:
        import onnxruntime as ort
        self.model_dir = model_dir
        self.manifest = read_manifest(model_dir)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be an integer >= 1, got {batch_size!r}')
        self.batch_size = batch_size
        if max_pixels == float('inf'):  # as PlateRecognizer takes it: no limit
            max_pixels = None
        if max_pixels is not None and (isinstance(max_pixels, bool) or
                                       not isinstance(max_pixels, numbers.Real) or
                                       not max_pixels >= 1):  # nan too
            raise ValueError(f'max_pixels must be a number >= 1 or None, got {max_pixels!r}')
        self.max_pixels = None if max_pixels is None else int(max_pixels)
        options = ort.SessionOptions()
        # A reading runs several sessions in turn (selector, then each scale
        # chosen): threads left spinning after one run take the cores from
        # the next. Without spinning, DLD + selector reads 1.5x the images/s
        # on 2 cores (benchmarks/onnx_throughput.py).
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                raise ValueError(f'threads must be an integer >= 1, got {threads!r}')
            options.intra_op_num_threads = int(threads)
        providers = checked_providers(providers, ort.get_available_providers())

        def session(name: str):
            path = osp.join(model_dir, name)
            try:
                return ort.InferenceSession(path, options, providers=providers)
            except Exception as err:  # ONNX Runtime's own classes (InvalidProtobuf, Fail, ...)
                reason = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
                raise ValueError(f'{path}: ONNX Runtime cannot load it ({reason}); a '
                                 'truncated copy? Copy the export again, or export '
                                 'again') from err

        m = self.manifest
        self.scales = [float(s['scale']) for s in m['scales']]
        self._sessions = {float(s['scale']): session(s['file']) for s in m['scales']}
        self._gflops = {float(s['scale']): float(s['gflops']) for s in m['scales']}
        selector = m.get('selector')
        self._selector = session(selector['file']) if selector else None
        self.selector_gflops = float(selector['gflops']) if selector else 0.0
        # the selector's logits are in the model's order of candidates,
        # which an export's --scales need not keep
        self._candidates = [float(s) for s in selector['scales']] if selector else []
        #: added to the selector's logits before its choice (the config's
        #: ``test_cfg.selector_bias``, in the order of its candidates); None: none
        self.selector_bias = (selector or {}).get('bias')
        self.fixed_scale = m.get('fixed_scale')
        #: 'float32', or 'int8' for an export made with --int8
        self.precision = m.get('precision', 'float32')
        self.reread = m.get('reread')
        dec = m['decoder']
        self._chars = dec['chars']
        self._attention = dec['kind'] == 'attention'
        self._end_idx = dec.get('end_idx')
        self._blank_idx = dec.get('blank_idx')
        inp = m['input']
        self._grey = inp['color_type'] == 'grayscale'
        self._size = tuple(int(s) for s in inp['size'])
        self._keep_ratio = bool(inp['keep_ratio'])
        self._pad_value = inp['pad_value']
        self._interpolation = INTERPOLATIONS[inp['interpolation']]

    def __reduce__(self):
        """Refused with what to do, where pickle named an InferenceSession
        (see ``PlateRecognizer.__reduce__``)."""
        raise TypeError(
            'OnnxPlateReader cannot be pickled or copied (a spawned worker, pool.map(reader, '
            '...), copy.deepcopy): build one in each worker process, e.g. in the initializer '
            'of multiprocessing.Pool, from the export folder')

    # ------------------------------------------------------------------ input

    def load(self, image: ImageLike, source: str = 'the bytes') -> np.ndarray:
        """A path, an array or the bytes of an encoded image -> uint8
        ``(H, W, C)``, as DLD's datasets decode files (OpenCV, BGR, or grey
        for a grey model). ``source`` names bytes and arrays in errors,
        which are :class:`ImageInputError`."""
        if isinstance(image, (str, os.PathLike)):
            path = os.fspath(image)
            if osp.isdir(path):
                raise ImageInputError(f'{path}: a folder, not an image file')
            if osp.exists(path) and not osp.isfile(path):  # a FIFO hangs, /dev/zero fills memory
                raise ImageInputError(f'{path}: not a regular file (a FIFO, a device), not an '
                                      'image file')
            if path.lower().endswith(TEXT_EXTENSIONS) and osp.isfile(path):
                raise ImageInputError(f'{path}: a text file (a label file?), not an image; this '
                                      'reader reads images and folders of them, label files '
                                      'are tools/infer.py\'s')
            try:
                buf = np.fromfile(path, dtype=np.uint8)
            except OSError as err:
                raise ImageInputError(f'{path}: cannot read image ({err.strerror})') from err
            if not buf.size:
                raise ImageInputError(f'{path}: empty file (0 bytes)')
            return self._decode(buf, path)
        if isinstance(image, ENCODED):  # a request's body, say
            buf = np.frombuffer(bytes(image), dtype=np.uint8)
            if not buf.size:
                raise ImageInputError(f'{source}: no bytes to decode (empty)')
            return self._decode(buf, source)
        if not isinstance(image, np.ndarray):
            raise ImageInputError(f'{source}: {_unsupported(image)}')
        img = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
        if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)) or \
                0 in img.shape[:2]:
            raise ImageInputError(f'{source}: array of shape {tuple(image.shape)} is not an '
                                  'image: give (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) '
                                  f'BGRA{array_shape_hint(img)}')
        self._check_size(img, source)
        try:
            img = array_to_uint8(img)
        except ValueError as err:
            raise ImageInputError(f'{source}: {err}') from err
        if img.ndim == 3 and img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        if self._grey and img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        elif not self._grey and img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return np.ascontiguousarray(img[..., None] if img.ndim == 2 else img)

    def _decode(self, buf: np.ndarray, source: str) -> np.ndarray:
        self._check_header_size(buf, source)
        flag = cv2.IMREAD_GRAYSCALE if self._grey else cv2.IMREAD_COLOR
        try:
            # 16-bit files by the rule of uint16 arrays (array_to_uint8), as
            # DLD's datasets decode them: 8-bit values saved as uint16 read as
            # they are, not as a black image
            img = cv2.imdecode(buf, flag | cv2.IMREAD_ANYDEPTH)
            if img is not None and img.dtype == np.uint16:
                _warn_dim_sixteen_bit(int(img.max(initial=0)), source)
                img = array_to_uint8(img)
            elif img is not None and img.dtype != np.uint8:
                img = cv2.imdecode(buf, flag)
        except cv2.error as err:  # e.g. above OpenCV's own pixel limit
            raise ImageInputError(f'{source}: cannot decode image (OpenCV refused it: '
                                  f'{getattr(err, "err", None) or err})') from err
        if img is None or img.size == 0:
            raise ImageInputError(f'{source}: cannot decode image (corrupt or not an image)')
        self._check_size(img, source)
        return img[..., None] if img.ndim == 2 else img

    def _check_size(self, img: np.ndarray, source: str) -> None:
        if self.max_pixels is not None and img.shape[0] * img.shape[1] > self.max_pixels:
            raise ImageInputError(f'{source}: image of {img.shape[1]}x{img.shape[0]} pixels '
                                  f'exceeds the limit of {self.max_pixels} pixels')

    def _check_header_size(self, buf: np.ndarray, path: str) -> None:
        """An image's size from its header, refused before decoding a forged
        one: any format Pillow reads where it is installed (a 1 KB JPEG
        declaring 30000x30000 decoded to 5.4 GB when only PNG was looked
        at), else a PNG's."""
        if self.max_pixels is None:
            return
        size = _header_size(buf)
        if size is not None and size[0] > self.max_pixels:
            raise ImageInputError(f'{path}: image of {size[1]} pixels exceeds the limit of '
                                  f'{self.max_pixels} pixels')

    def resize(self, img: np.ndarray):
        """``(H, W, C)`` -> the model's input size and its ``valid_ratio``, as
        the config's ``ResizePair`` makes them (keeping the aspect ratio and
        padding on the right, or stretching)."""
        th, tw = self._size
        c = img.shape[2]
        if not self._keep_ratio:
            out = cv2.resize(img, (tw, th), interpolation=self._interpolation)
            return out.reshape(th, tw, c), 1.0
        h, w = img.shape[:2]
        new_w = int(min(tw, max(1, round(w * th / h))))
        out = np.full((th, tw, c), self._pad_value, dtype=img.dtype)
        out[:, :new_w] = cv2.resize(img, (new_w, th),
                                    interpolation=self._interpolation).reshape(th, new_w, c)
        return out, new_w / tw

    # ---------------------------------------------------------------- reading
    def __call__(self, images: Union[ImageLike, Iterable[ImageLike]],
                 scale: Optional[float] = None) -> List[Dict]:
        """Read ``images`` (one, or several); ``scale`` reads every image at
        that exported scale instead of the selector's choice."""
        return list(self.read_batches(images, scale))

    def read_batches(self, images: Union[ImageLike, Iterable[ImageLike]],
                     scale: Optional[float] = None) -> Iterator[Dict]:
        """The readings of :meth:`__call__`, one at a time as each batch is
        read: a caller can print or keep them before the rest are read. A
        scale not exported, or ``images`` that are no images (None, a
        number, a dict, a tensor), are refused here, not when the first is
        asked."""
        self._check_scale(scale)
        if isinstance(images, (str, os.PathLike, np.ndarray) + ENCODED):
            images = [images]  # one image: bytes are not a list of their bytes
        elif (images is None or isinstance(images, (numbers.Number, dict))
              or type(images).__module__.startswith('torch')  # a tensor's rows, a loader's batches
              or not isinstance(images, collections.abc.Iterable)):
            raise TypeError(f'images: {_unsupported(images)}')
        return self._batches(images, scale)

    def _batches(self, images, scale) -> Iterator[Dict]:
        chunk = []
        for i, image in enumerate(images):
            source = (os.fspath(image) if isinstance(image, (str, os.PathLike))
                      else f'bytes[{i}]' if isinstance(image, ENCODED)
                      else f'array[{i}]' if isinstance(image, np.ndarray) else f'input[{i}]')
            try:
                chunk.append((source, *self.resize(self.load(image, source))))
            except ImageInputError as err:  # the record names the source already
                message = str(err)
                chunk.append((source, message[len(source) + 2:] if message.startswith(
                    f'{source}: ') else message, None))
            if len(chunk) == self.batch_size:
                yield from self._read_chunk(chunk, scale)
                chunk = []
        if chunk:
            yield from self._read_chunk(chunk, scale)

    def _read_chunk(self, chunk, scale) -> List[Dict]:
        good = [i for i, (_, _, ratio) in enumerate(chunk) if ratio is not None]
        out = [error_record(source, error) for source, error, _ in chunk]
        if good:
            batch = np.stack([chunk[i][1] for i in good])
            ratios = np.asarray([chunk[i][2] for i in good], dtype=np.float64)
            for i, reading in zip(good, self.read_batch(batch, ratios, scale)):
                out[i] = dict(input=chunk[i][0], **reading, error=None, error_type=None)
        return out

    def _check_scale(self, scale: Optional[float]) -> None:
        if scale is not None and (isinstance(scale, bool) or
                                  not isinstance(scale, numbers.Real)):  # as PlateRecognizer
            raise ValueError(f'scale must be a number, one of {self.scales}, got {scale!r}')
        if scale is not None and float(scale) not in self._sessions:
            raise ValueError(f'scale {scale} was not exported; exported: {self.scales}')

    def read_batch(self, batch: np.ndarray, valid_ratio: np.ndarray,
                   scale: Optional[float] = None) -> List[Dict]:
        """Read resized images ``(B, H, W, C)`` uint8 with their ``valid_ratio (B,)``
        (:meth:`resize` makes both)."""
        self._check_scale(scale)
        valid_ratio = np.asarray(valid_ratio, dtype=np.float64)
        n = len(batch)
        forced = scale if scale is not None else self.fixed_scale
        with_selector = forced is None and self._selector is not None
        if forced is not None:
            chosen = [float(forced)] * n
        elif self._selector is not None:
            logits = self._selector.run(None, {'images': batch})[0]
            if self.selector_bias is not None:
                logits = logits + np.asarray(self.selector_bias, dtype=logits.dtype)
            chosen = [self._candidates[i] for i in logits.argmax(-1).tolist()]
        else:
            chosen = [self.scales[0]] * n
        results = [dict(text='', confidence=0.0, scale=None, scales_read=[],
                        gflops=self.selector_gflops if with_selector else 0.0, scale_probs=None,
                        truncated=None)
                   for _ in range(n)]
        if with_selector:  # why the selector chose its scale, as PlateRecognizer says
            e = np.exp(logits.astype(np.float64) - logits.max(-1, keepdims=True))
            for r, p in zip(results, (e / e.sum(-1, keepdims=True)).tolist()):
                r['scale_probs'] = {f'{s:g}': v for s, v in zip(self._candidates, p)}
        self._read(batch, valid_ratio, results, chosen)
        if self.reread and forced is None:
            for s in sorted(float(s) for s in self.reread['scales']):
                unsure = [r['confidence'] < self.reread['min_score'] and r['scale'] < s
                          for r in results]
                self._read(batch, valid_ratio, results, [s if u else None for u in unsure])
        return results

    def _read(self, batch, valid_ratio, results, chosen) -> None:
        for s in sorted({c for c in chosen if c is not None}, reverse=True):
            idx = [i for i, c in enumerate(chosen) if c == s]
            texts, scores = self._read_at(s, batch[idx], valid_ratio[idx])
            for i, text, score in zip(idx, texts, scores):
                r = results[i]
                r.update(text=text, confidence=score, scale=s, scales_read=r['scales_read'] + [s],
                         gflops=r['gflops'] + self._gflops[s])

    def _read_at(self, scale: float, batch: np.ndarray, valid_ratio: np.ndarray):
        outputs = self._sessions[scale].run(None, {'images': batch, 'valid_ratio': valid_ratio})
        if self._attention:
            return self._attention_texts(*outputs)
        return self._ctc_texts(outputs[0])

    def _text(self, indices) -> str:
        return ''.join(self._chars[i] for i in indices if 0 <= i < len(self._chars))

    def _attention_texts(self, tokens: np.ndarray, token_logp: np.ndarray):
        texts, scores = [], []
        for row, logp in zip(tokens.tolist(), token_logp):
            # up to the first end token, which the score counts (the graph
            # forces one at the last step; without one, everything, as DLD)
            end = row.index(self._end_idx) if self._end_idx in row else len(row)
            texts.append(self._text(row[:end]))
            scores.append(math.exp(float(logp[:end + 1].astype(np.float64).sum())))
        return texts, scores

    def _ctc_texts(self, log_probs: np.ndarray):
        texts, scores = [], []
        for lp in log_probs.astype(np.float64):
            path = lp.argmax(-1)
            keep = np.ones(len(path), dtype=bool)
            keep[1:] = path[1:] != path[:-1]
            keep &= path != self._blank_idx
            seq = path[keep].tolist()
            texts.append(self._text(seq))
            scores.append(math.exp(ctc_log_likelihood(lp, seq, self._blank_idx)))
        return texts, scores


def error_record(source: str, error: str, error_type: str = 'ImageInputError') -> dict:
    """The record of an input that could not be read: the keys of a
    reading, None for each value, as ``PlateRecognizer``'s."""
    return dict(input=source, text=None, confidence=None, scale=None, scales_read=None,
                scale_probs=None, truncated=None,
                gflops=None, error=error, error_type=error_type)


def ctc_log_likelihood(log_probs: np.ndarray, target: Sequence[int], blank: int) -> float:
    """``log p(target | x)`` summed over every CTC alignment (the forward
    algorithm), ``log_probs (T, K)``; what DLD scores a CTC reading by."""
    ext = [blank]
    for c in target:
        ext += [c, blank]
    S = len(ext)
    alpha = np.full(S, -np.inf)
    alpha[0] = log_probs[0, blank]
    if S > 1:
        alpha[1] = log_probs[0, ext[1]]
    # a step may skip the blank between two different characters
    skip = np.array([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(S)])
    for t in range(1, len(log_probs)):
        step = np.full(S, -np.inf)
        step[1:] = alpha[:-1]
        jump = np.full(S, -np.inf)
        jump[2:] = np.where(skip[2:], alpha[:-2], -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, step), jump) + log_probs[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if S > 1 else alpha[-1])


def read_manifest(model_dir: str) -> dict:
    """The folder's ``dld_onnx.json``, checked: a clear error rather than a
    KeyError for a folder that is not an export (or of a newer format)."""
    path = osp.join(model_dir, MANIFEST)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{model_dir}: no {MANIFEST}; give a folder written by '
                                'tools/deployment/export_onnx.py')
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except (OSError, ValueError, RecursionError) as err:
        why = 'nested too deeply' if isinstance(err, RecursionError) else err
        raise ValueError(f'{path}: cannot be read as JSON ({why})') from None
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise ValueError(f'{path}: not a DLD ONNX export (format {FORMAT!r})')
    if manifest.get('version') not in READABLE_VERSIONS:
        raise ValueError(f"{path}: export format version {manifest.get('version')!r}; this "
                         f"reader reads version {' or '.join(map(str, READABLE_VERSIONS))}")
    _check_fields(manifest, path)
    files = [s['file'] for s in manifest['scales']]
    files += [manifest['selector']['file']] if manifest.get('selector') else []
    missing = [f for f in files if not osp.isfile(osp.join(model_dir, f))]
    if missing:
        raise FileNotFoundError(f'{model_dir}: {MANIFEST} names files that are not there: '
                                f'{missing}')
    exported = {float(s['scale']) for s in manifest['scales']}
    read = [manifest['fixed_scale']] if manifest.get('fixed_scale') is not None else []
    read += (manifest.get('reread') or {}).get('scales', [])
    read += (manifest.get('selector') or {}).get('scales', [])
    unexported = sorted({float(s) for s in read} - exported)
    if unexported:
        raise ValueError(f'{path}: the model reads at {unexported}, which were not exported '
                         f'(exported: {sorted(exported)}); export again')
    return manifest


#: What a reader needs of the manifest: (section, its keys); None: the top level.
REQUIRED_FIELDS = ((None, ('scales', 'decoder', 'input')), ('decoder', ('kind', 'chars')),
                   ('input', ('color_type', 'size', 'keep_ratio', 'pad_value', 'interpolation')))


def _check_fields(manifest: dict, path: str) -> None:
    """A hand-edited or cut manifest is refused naming what it lacks, not
    with a KeyError when the reader is built."""
    def refuse(what: str):
        raise ValueError(f'{path}: {what}; export again with tools/deployment/export_onnx.py')

    for section, keys in REQUIRED_FIELDS:
        part = manifest if section is None else manifest.get(section)
        if not isinstance(part, dict):
            refuse(f'no {section!r} section')
        missing = [k for k in keys if k not in part]
        if missing:
            refuse(f"no {', '.join(repr(k) for k in missing)}" +
                   (f' in {section!r}' if section else ''))
    scales = manifest['scales']
    if not isinstance(scales, list) or not scales or not all(
            isinstance(s, dict) and {'scale', 'file', 'gflops'} <= set(s) for s in scales):
        refuse("'scales' must list the exported graphs (scale, file, gflops)")
    if manifest['decoder']['kind'] not in ('attention', 'ctc'):
        refuse(f"decoder kind {manifest['decoder']['kind']!r} is not 'attention' or 'ctc'")
    selector = manifest.get('selector')
    bias = selector.get('bias') if isinstance(selector, dict) else None
    if bias is not None and not (
            isinstance(bias, list) and len(bias) == len(selector.get('scales') or ())
            and all(isinstance(b, (int, float)) and not isinstance(b, bool)
                    and math.isfinite(b) for b in bias)):
        refuse(f"the selector's bias {bias!r} is not one finite number per candidate scale")
    if manifest['input']['interpolation'] not in INTERPOLATIONS:
        refuse(f"interpolation {manifest['input']['interpolation']!r} is not one of "
               f'{sorted(INTERPOLATIONS)}')


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before the reading (the model loading, a folder listed)
        print('stopped by Ctrl-C before any image was read', file=sys.stderr)
        return 130


def _main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description='Read plate images with an exported DLD model (ONNX Runtime); prints '
        'path, text, confidence, scale and GFLOPs, tab-separated, one line an image (with '
        '--json, its record as a JSON line); failures on stderr.')
    parser.add_argument('model_dir', help='folder written by tools/deployment/export_onnx.py')
    parser.add_argument('images', nargs='+',
                        help='image files, or folders (searched for images, recursively)')
    parser.add_argument('--scale', type=float, help='read every image at this exported scale')
    parser.add_argument('--threads', type=int, help='ONNX Runtime threads per session (>= 1)')
    parser.add_argument('--batch-size', type=int, default=32,
                        help='images per graph run (default 32)')
    parser.add_argument('--json', action='store_true',
                        help="print each image's record as one JSON line (its keys as the "
                        "Python API's records, failures included) instead of the columns")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    try:
        reader = OnnxPlateReader(args.model_dir, threads=args.threads,
                                 batch_size=args.batch_size)
        reader._check_scale(args.scale)
    except ImportError as err:
        print(f'error: {err}; install onnxruntime (pip install onnxruntime)', file=sys.stderr)
        return 2
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    inp = reader.manifest['input']  # exports before 'frame' was written: the stream's
    found = expand_paths(args.images, inp.get('frame', inp.get('stream', 'lr')))
    files = [source for source, error in found if error is None]
    read = iter(reader.read_batches(files, scale=args.scale) if files else [])
    readings = []
    try:
        # each line as its batch is read: a run stopped or killed keeps those before
        for source, error in found:
            r = next(read) if error is None else error_record(source, error)
            readings.append(r)
            if args.json:
                print(json.dumps(r), flush=True)  # ASCII: a name not UTF-8 still parses
            if r['error']:
                print(f"{r['input']}\terror: {r['error']}", file=sys.stderr)
            elif not args.json:
                print(f"{r['input']}\t{r['text']}\t{_confidence(r['confidence'])}\t"
                      f"{r['scale']:g}\t{r['gflops']:.4f}", flush=True)
    except BrokenPipeError:  # `| head`: the reader of stdout has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:  # Ctrl-C: the lines printed are the images read
        print(f'stopped by Ctrl-C after {len(readings)} of {len(found)} input(s)',
              file=sys.stderr)
        return 130
    # as tools/infer.py: a failure only when nothing could be read
    return 1 if readings and all(r['error'] for r in readings) else 0


def _confidence(value: float) -> str:
    """``0.9731``; below 1e-4 in two significant digits (``5.1e-14``), as
    tools/infer.py prints it: a CTC model's confidences can be that small."""
    return f'{value:.2g}' if 0 < abs(value) < 1e-4 else f'{value:.4f}'


def expand_paths(paths: Sequence[str], frame: str = 'lr') -> List[Tuple[str, Optional[str]]]:
    """``(path, error)`` of each image to read, each folder replaced by the
    images below it, as ``tools/infer.py`` finds them: sorted, following
    symlinked folders, no hidden folder; a track folder of the ICPR layout
    (``lr-*``/``hr-*`` frames) gives its ``frame`` frames only, in frame
    order. A folder without images, or a track folder without ``frame``
    frames, is one item with an error (None: read it)."""
    out: List[Tuple[str, Optional[str]]] = []
    for path in paths:
        if not osp.isdir(path):
            out.append((path, None))
            continue
        found = 0
        for folder, names in _image_folders(path):
            found += 1
            frames = {n: _track_frame(n) for n in names}
            listed = os.listdir(folder)
            if not _is_track_folder(folder, listed):
                out += [(osp.join(folder, n), None) for n in names]
                continue
            chosen = sorted((k[1], n) for n, k in frames.items() if k and k[0] == frame)
            numbers = [k for k, _ in chosen]
            twice = sorted({k for k in numbers if numbers.count(k) > 1})
            if not chosen:
                what = f' ({_no_lr_frames(listed)})' if frame == 'lr' else ''
                out.append((folder, f'track folder without {frame}-* frames{what}: this model '
                                    f'reads the {frame.upper()} frame of each track'))
            elif twice:
                names = ', '.join(n for k, n in chosen if k in twice)
                out.append((folder, f'track folder with frame number(s) {twice} twice ({names})'))
            else:
                out += [(osp.join(folder, n), None) for _, n in chosen]
        if not found:
            out.append((path, 'folder holds no image files'))
    return out


def _header_size(buf: np.ndarray) -> Optional[Tuple[int, str]]:
    """``(pixels, as said)`` (``'60x20'``) from an encoded image's header;
    None where it cannot be told without decoding. PNG, JPEG and BMP
    headers are read here, so an install without Pillow (the device's of
    docs/deployment.md) refuses a forged JPEG too before decoding it (a
    629-byte file claiming 20000x20000 took 2.4 GB); other formats by
    Pillow where it is there."""
    size = encoded_image_size(buf)
    if size is not None:
        w, h = size
        return w * h, f'{w}x{h}'
    try:
        w, h = pillow_image_size(buf.tobytes())
        return w * h, f'{w}x{h}'
    except ImportError:
        pass
    except Exception as err:  # noqa: BLE001 - Pillow's refusal of a bomb names its size
        found = re.search(r'\((\d+) pixels\)', str(err))
        if found:
            return int(found.group(1)), found.group(1)
    return None


#: Pillow's header reads run one at a time. Its bomb warning is silenced
#: with ``warnings.catch_warnings``, which swaps the process's list of
#: filters for a copy and puts back the list it found: two reads that
#: overlapped in two threads (one reader per thread, a service's threads
#: sharing an OnnxPlateReader) put back the other's copy, and left
#: ``ignore DecompressionBombWarning`` in the process for good.
_PILLOW_LOCK = threading.Lock()


def pillow_image_size(buf: bytes) -> Tuple[int, int]:
    """``(w, h)`` of an encoded image from its header, read by Pillow
    without decoding and without its bomb warning (the callers' limit is
    theirs); Pillow's errors (``DecompressionBombError`` above twice its
    ``MAX_IMAGE_PIXELS``, ``UnidentifiedImageError``) and an ImportError
    without Pillow are raised. Thread-safe: see ``_PILLOW_LOCK``."""
    import io
    import warnings

    from PIL import Image  # DLD's requirement; this reader works without it
    with _PILLOW_LOCK, warnings.catch_warnings():
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(buf)) as im:
            return im.size


def _after_fork_in_child() -> None:
    """A process forked while another thread read a header starts with a
    free lock (it hung at its first such read otherwise)."""
    global _PILLOW_LOCK
    _PILLOW_LOCK = threading.Lock()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def encoded_image_size(buf: Union[np.ndarray, bytes]) -> Optional[Tuple[int, int]]:
    """``(w, h)`` of a PNG, JPEG or BMP from its header, read here (no
    Pillow, no warning filters: thread-safe); None for another format."""
    if not isinstance(buf, np.ndarray):
        buf = np.frombuffer(bytes(buf[:1 << 20]), np.uint8)
    return _png_size(buf) or _jpeg_size(buf) or _bmp_size(buf)


def _png_size(buf: np.ndarray) -> Optional[Tuple[int, int]]:
    """``(w, h)`` of a PNG's IHDR (read even where a chunk's checksum is
    bad, which OpenCV decodes past)."""
    if buf[:8].tobytes() == b'\x89PNG\r\n\x1a\n' and buf.size >= 24:
        w, h = (int.from_bytes(buf[i:i + 4].tobytes(), 'big') for i in (16, 20))
        return w, h
    return None


def _jpeg_size(buf: np.ndarray) -> Optional[Tuple[int, int]]:
    """``(w, h)`` of a JPEG's frame header (SOFn), walking its segments."""
    data = buf[:1 << 20].tobytes()  # the frame header comes before the scan
    if data[:2] != b'\xff\xd8':
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # no length
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], 'big')
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                return None
            h, w = (int.from_bytes(data[j:j + 2], 'big') for j in (i + 5, i + 7))
            return w, h
        if marker == 0xDA or length < 2:  # the scan, before any frame header: none
            return None
        i += 2 + length
    return None


def _bmp_size(buf: np.ndarray) -> Optional[Tuple[int, int]]:
    """``(w, h)`` of a BMP's header: 16-bit in an OS/2 core header (12
    bytes), else 32-bit, the height negative top-down; None for another."""
    if buf[:2].tobytes() != b'BM' or buf.size < 26:
        return None
    header = int.from_bytes(buf[14:18].tobytes(), 'little')
    if header == 12:
        return tuple(int.from_bytes(buf[i:i + 2].tobytes(), 'little') for i in (18, 20))
    if header < 40:
        return None
    w, h = (abs(int.from_bytes(buf[i:i + 4].tobytes(), 'little', signed=True))
            for i in (18, 22))
    return w, h


def _links_above(path: str, real_root: str) -> bool:
    """Whether ``path`` is a symlink to ``real_root`` or a folder holding
    it (said on stderr: not followed). DLD's rule
    (:func:`dld.utils.folder_walk.links_above`), restated: this file runs
    without DLD."""
    if not osp.islink(path):
        return False
    target = osp.realpath(path)
    if real_root != target and not real_root.startswith(target.rstrip(os.sep) + os.sep):
        return False
    print(f'{path} links to {target}, which holds {real_root}, the folder being read: '
          'not followed', file=sys.stderr)
    return True


def _image_folders(root: str) -> Iterator[Tuple[str, List[str]]]:
    """``(folder, image file names)`` below ``root``, sorted, following
    symlinked folders (each real folder once) and skipping hidden ones."""
    visited = set()
    real_root = osp.realpath(root)
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        real = osp.realpath(folder)
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        # a link to the root or above it would read everything beside it
        # (``-> /``: the whole machine), as dld.utils.folder_walk says
        dirnames[:] = [d for d in sorted(dirnames) if not d.startswith('.')
                       and not _links_above(osp.join(folder, d), real_root)]
        # macOS's '._name.png' metadata files are no images (as DLD's list_image_folder)
        names = sorted(n for n in filenames
                       if n.lower().endswith(IMAGE_EXTENSIONS) and not n.startswith('._'))
        if names:
            yield folder, names


if __name__ == '__main__':
    sys.exit(main())
