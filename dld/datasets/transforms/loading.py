"""Reading LR/HR plate frames from disk."""
import logging
import os
import re
from typing import List, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio

from dld.registry import TRANSFORMS
from dld.utils.opencv_quiet import opencv_quiet

from ..errors import ImageLoadError

#: File name endings taken as images: a folder's images for inference, a
#: track folder's frames (``lr-001.bmp`` as ``lr-001.png``).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm',
                    '.pgm', '.pbm', '.jp2')


#: Images above this many pixels are refused from their header, before
#: they are decoded (a 875 KB PNG declaring 30000x30000 decoded to 5.4 GB in
#: each loader worker); OpenCV's own limit is about 1 Gpixel.
DEFAULT_MAX_PIXELS = 16384 * 16384


def read_plate_image(path: str, color_type: str = 'color',
                     backend_args: Optional[dict] = None,
                     max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read one image as ``(H, W, C)`` uint8 (BGR, or ``C=1`` grey).

    Raises:
        ImageLoadError: the file is missing, unreadable, not a regular file
            (a FIFO hung the loader, ``/dev/zero`` was read until memory ran
            out), larger than ``max_pixels`` by its header, or not an image,
            or OpenCV refuses to decode it (``cv2.error``), so the dataset's
            retry and error messages handle it like any other unreadable
            image.
    """
    if is_local_path(path, backend_args):  # a local file: anything else is no image file
        special = not_a_regular_file(path)
        if special:
            raise ImageLoadError(path, special)
    try:
        buf = fileio.get(path, backend_args=backend_args)
    except (FileNotFoundError, OSError) as err:
        raise ImageLoadError(path, f'cannot read image ({type(err).__name__})') from err
    if not buf:  # said as inference says it (a failed copy, a placeholder file)
        raise ImageLoadError(path, 'empty file (0 bytes)')
    oversized = header_too_large(buf, max_pixels)
    if oversized:
        raise ImageLoadError(path, oversized)
    try:
        img = decode_plate_image(buf, color_type)
    except cv2.error as err:  # e.g. a header claiming more pixels than OpenCV decodes
        raise ImageLoadError(path, opencv_refusal(err)) from err
    if img is None:
        raise ImageLoadError(path, 'cannot decode image (corrupt or not an image)')
    return img


def is_local_path(path: str, backend_args: Optional[dict]) -> bool:
    """Whether ``path`` is read from the local disk (no backend, or the local one)."""
    if backend_args is None:
        return True
    try:
        return isinstance(fileio.get_file_backend(path, backend_args=backend_args),
                          fileio.LocalBackend)
    except (ValueError, TypeError, KeyError):  # a backend not registered: not ours to say
        return False


#: A side past which a header's size is taken for a corrupt one, not an image's.
MAX_PLAUSIBLE_SIDE = 1 << 18


def not_a_regular_file(path: str) -> Optional[str]:
    """Why ``path`` is no file to read an image from (a FIFO, a device, a
    socket), or None (a regular file, or none at all: the read says so)."""
    import stat
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = ('a folder' if stat.S_ISDIR(mode) else 'a FIFO (named pipe)' if stat.S_ISFIFO(mode)
            else 'a device' if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else 'a socket' if stat.S_ISSOCK(mode) else 'not a regular file')
    return f'is {kind}, not an image file'


def header_too_large(buf: bytes, max_pixels: Optional[int]) -> Optional[str]:
    """Why an encoded image is refused from its header alone, when its
    format tells its size and that is above ``max_pixels``; None otherwise.

    PNG, JPEG and BMP headers are read by DLD itself (no Pillow: its bomb
    warning was silenced per call with ``warnings.catch_warnings``, which
    swaps the process's filters and is not thread-safe: readers in several
    threads left a filter behind). Other formats are read by Pillow (one
    thread at a time: :func:`~dld.deploy.onnx_reader.pillow_image_size`), which
    reads the header without decoding and refuses to open images above
    twice its own ``MAX_IMAGE_PIXELS`` (~179 Mpx): that refusal carries the
    size, which is held against ``max_pixels`` like any other, so the
    largest images cannot slip past the limit into the decoder.
    """
    if max_pixels is None:
        return None
    from PIL import Image  # a requirement

    from dld.deploy.onnx_reader import encoded_image_size, pillow_image_size
    advice = 'crop the plate first or raise the limit (max_pixels; infer.py --max-pixels)'
    size = encoded_image_size(buf)
    if size is not None:
        w, h = size
        if w * h > max_pixels:
            # 1315865323x571956702 from a corrupt PNG: the header, not the image, is wrong
            cause = ('its header is likely corrupt (no photograph is that wide or tall)'
                     if max(w, h) > MAX_PLAUSIBLE_SIDE else advice)
            return f'image of {w}x{h} pixels exceeds the limit of {max_pixels} pixels; {cause}'
        return None
    try:
        # Pillow's own bomb warning silenced (our limit is max_pixels), one
        # thread at a time: see dld.deploy.onnx_reader._PILLOW_LOCK
        w, h = pillow_image_size(buf)
    except Image.DecompressionBombError as err:
        found = re.search(r'\((\d+) pixels\)', str(err))
        pixels = int(found.group(1)) if found else None
        if pixels is not None and pixels <= max_pixels:
            return None  # over Pillow's limit, within ours: the decoder reads it
        size = f'{pixels} pixels' if pixels else f'over {2 * Image.MAX_IMAGE_PIXELS} pixels'
        return f'image of {size} exceeds the limit of {max_pixels} pixels; {advice}'
    except Exception:  # noqa: BLE001 - a header Pillow refuses (a PNG's is read above)
        return None
    if w * h > max_pixels:
        return f'image of {w}x{h} pixels exceeds the limit of {max_pixels} pixels; {advice}'
    return None


def opencv_refusal(err: Exception) -> str:
    """What an OpenCV decoding failure means to the user (inference and
    the datasets say it alike)."""
    if 'CV_IO_MAX_IMAGE_PIXELS' in str(err):
        return ("image exceeds OpenCV's decoding limit (CV_IO_MAX_IMAGE_PIXELS, "
                'about 1 Gpixel); crop the plate first')
    return f'cannot decode: OpenCV failed ({str(err).strip().splitlines()[-1]})'


def decode_plate_image(buf: bytes, color_type: str = 'color') -> Optional[np.ndarray]:
    """Decode encoded image bytes as ``(H, W, C)`` uint8 (BGR, or ``C=1`` grey).

    The one decoding rule of training, evaluation and inference
    (:mod:`dld.apis.image_input`), so a plate reaches the model with the same
    pixels whichever reads it: EXIF orientation applied, 16-bit scaled to
    8-bit (:func:`decode_sixteen_bit_as_arrays`), alpha dropped, grey
    converted by the codec.

    Returns:
        np.ndarray | None: None when the bytes are empty or not an image.
        ``cv2.error`` (e.g. above OpenCV's pixel limit) is not caught.
    """
    if not buf:
        return None
    flag = cv2.IMREAD_GRAYSCALE if color_type == 'grayscale' else cv2.IMREAD_COLOR
    data = np.frombuffer(buf, np.uint8)
    with opencv_quiet():  # the caller says what failed, once
        img = decode_sixteen_bit_as_arrays(data, flag)
    if img is None or img.size == 0:
        return None
    if img.ndim == 2:
        img = img[..., None]
    return img


def decode_sixteen_bit_as_arrays(data: np.ndarray, flag: int) -> Optional[np.ndarray]:
    """``cv2.imdecode(data, flag)``, a 16-bit image brought to 8 bits by the
    rule of uint16 arrays (:func:`dld.deploy.onnx_reader.array_to_uint8`):
    one whose values all lie in 0-255 is read as they are, any other by its
    high byte, as OpenCV reads it. OpenCV took the high byte of every 16-bit
    file: an 8-bit crop saved as uint16 (``img.astype(np.uint16)``) read as a
    black image, where the same array handed to inference read as it is.
    EXIF orientation is applied as before (``IMREAD_ANYDEPTH`` keeps it)."""
    img = cv2.imdecode(data, flag | cv2.IMREAD_ANYDEPTH)
    if img is None or img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        from dld.deploy.onnx_reader import array_to_uint8
        warn_dim_sixteen_bit(int(img.max(initial=0)))
        return array_to_uint8(img)
    return cv2.imdecode(data, flag)  # float TIFF/EXR and others: OpenCV's conversion, as before


#: Whether this process has warned of a dim 16-bit image (once: a set of
#: them would warn per frame).
_WARNED_DIM_SIXTEEN_BIT = False


def warn_dim_sixteen_bit(high: int) -> None:
    """Warn, once a process, of a 16-bit image whose largest value is above
    255 but below 4096: scaled by its high byte it reads as at most 16 grey
    levels, nearly black. A 10- or 12-bit sensor's values (infrared and
    night cameras) in a 16-bit file read so without a word."""
    global _WARNED_DIM_SIXTEEN_BIT
    if _WARNED_DIM_SIXTEEN_BIT or not 255 < high < 4096:
        return
    _WARNED_DIM_SIXTEEN_BIT = True
    from mmengine.logging import print_log
    print_log(f'a 16-bit image whose values reach only {high} ({high.bit_length()} bits) '
              f'is read by its high byte as grey levels 0 to {high >> 8}: nearly black. A '
              'sensor of fewer bits (a 10- or 12-bit infrared camera) saved in 16-bit '
              'files: convert them to 8 bits by its depth first (img >> (bits - 8)) '
              '(said once a process)', logger='current', level=logging.WARNING)


@TRANSFORMS.register_module()
class LoadPlateImages(BaseTransform):
    """Load the LR frame (``lr_path`` -> ``img``) and the HR frame
    (``hr_path`` -> ``img_hr``).

    Args:
        color_type (str): ``'color'`` (BGR, 3 channels) or ``'grayscale'``
            (1 channel).
        with_lr (bool): load the LR frame. The teacher's HR pipelines set
            False to skip reading images they never use.
        with_hr (bool | None): load the HR frame. ``None`` loads it when the
            dataset provided ``hr_path`` (train mode, or ``load_hr=True``);
            ``True`` makes a missing ``hr_path`` an error.
        backend_args (dict | None): MMEngine file backend arguments.
        max_pixels (int | None): frames above this many pixels by their
            header are refused before they are decoded (None: no limit
            but OpenCV's, about 1 Gpixel).

    Added keys: ``img``, ``img_shape``, ``ori_shape`` (LR); ``img_hr``,
    ``hr_img_shape``, ``hr_ori_shape`` (HR). Shapes are ``(H, W)``.

    Raises:
        ImageLoadError: missing or undecodable file; the dataset retries.
    """

    def __init__(self, color_type: str = 'color', with_lr: bool = True,
                 with_hr: Optional[bool] = None,
                 backend_args: Optional[dict] = None,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> None:
        if color_type not in ('color', 'grayscale'):
            raise ValueError(f"color_type must be 'color' or 'grayscale', got {color_type!r}")
        self.color_type = color_type
        self.with_lr = with_lr
        self.with_hr = with_hr
        self.backend_args = backend_args
        self.max_pixels = max_pixels

    def transform(self, results: dict) -> dict:
        if self.with_lr:
            if not results.get('lr_path'):
                raise KeyError('LoadPlateImages: results has no lr_path')
            img = read_plate_image(results['lr_path'], self.color_type, self.backend_args,
                                   self.max_pixels)
            results['img'] = img
            results['img_shape'] = results['ori_shape'] = img.shape[:2]
        hr_path = results.get('hr_path')
        if self.with_hr and not hr_path:
            raise KeyError(
                'LoadPlateImages(with_hr=True): this item has no hr_path; the dataset '
                'must load HR (train mode or load_hr=True) and the track must have HR frames')
        if hr_path and self.with_hr is not False:
            img_hr = read_plate_image(hr_path, self.color_type, self.backend_args,
                                      self.max_pixels)
            results['img_hr'] = img_hr
            results['hr_img_shape'] = results['hr_ori_shape'] = img_hr.shape[:2]
        return results

    def paths_read(self, lr_path: Optional[str], hr_path: Optional[str]) -> List[str]:
        """The files :meth:`transform` reads for an item with these paths, so a
        dataset can check they exist before anything is trained or scored."""
        paths = [lr_path] if self.with_lr and lr_path else []
        if hr_path and self.with_hr is not False:
            paths.append(hr_path)
        return paths

    def file_exists(self, path: str) -> bool:
        """Whether ``path`` is a file on this transform's file backend (a
        folder of that name is not: it would fail when read)."""
        try:
            return fileio.isfile(path, backend_args=self.backend_args)
        except (NotImplementedError, AttributeError):  # a backend that cannot tell
            return fileio.exists(path, backend_args=self.backend_args)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(color_type={self.color_type!r}, '
                f'with_lr={self.with_lr}, with_hr={self.with_hr})')
