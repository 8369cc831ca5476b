"""Turning whatever a user hands the inferencer into plate images.

Inference must survive bad input: one unreadable file in a folder of ten
thousand should cost one error record, not the batch. Everything here either
returns a ``(H, W, C)`` uint8 image in the channel layout the test pipeline
expects, or raises :class:`ImageInputError` with a message a user can act on.
"""
import glob
import os.path as osp
from typing import Optional

import cv2
import numpy as np

from dld.datasets.transforms.loading import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    decode_plate_image,
    header_too_large,
    not_a_regular_file,
    opencv_refusal,
)
from dld.utils.folder_walk import walk_following_links
from dld.utils.path_hints import missing_path_hint

#: File name endings taken as label files (one track a line, see
#: :class:`dld.datasets.PairedPlateDataset`) when given explicitly.
LABEL_EXTENSIONS = ('.txt', '.tsv', '.lst', '.list')


class ImageInputError(ValueError):
    """One input could not become an image (the batch goes on without it).

    Args:
        source (str): the path, or a description such as ``'array #3'``.
        reason (str): what is wrong and, where useful, what to do.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f'{source}: {reason}')


#: The prefix of macOS's metadata files (AppleDouble), which copy an image's name.
APPLE_DOUBLE = '._'


def is_image_file(path: str) -> bool:
    return path.lower().endswith(IMAGE_EXTENSIONS)


def is_label_file(path: str) -> bool:
    return path.lower().endswith(LABEL_EXTENSIONS)


def read_image_file(path: str, color_type: str = 'color',
                    max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as ``(H, W, C)`` uint8, BGR (``C=3``) or grey (``C=1``).

    Decoded exactly as the datasets decode (EXIF orientation applied; grey,
    RGBA and 16-bit files converted to ``color_type`` by the codec).

    Raises:
        ImageInputError: missing, unreadable, empty, not an image, truncated
            (when the decoder refuses it), or larger than ``max_pixels``.
    """
    if not osp.exists(path):
        head = path.rsplit(maxsplit=1)[0] if path.strip() else path
        if head != path and osp.isfile(head):  # 'imgs/a.png AB12' read from a label file
            raise ImageInputError(path, f'no such file, but {head} is one: a label after a '
                                  'space? A label file puts a TAB between the image paths '
                                  'and the label')
        if glob.has_magic(path):  # quoted, a pattern reaches us as a name
            matches = len(glob.glob(path))
            raise ImageInputError(path, f'no such file or folder; as a pattern it matches '
                                  f'{matches} file(s), which a shell expands when the '
                                  'pattern is not quoted (or give their folder)')
        raise ImageInputError(path, 'no such file or folder' + missing_path_hint(path))
    if osp.isdir(path):
        raise ImageInputError(path, 'is a folder, not an image')
    special = not_a_regular_file(path)  # a FIFO hung the run, /dev/zero filled memory
    if special:
        raise ImageInputError(path, special)
    try:
        with open(path, 'rb') as f:
            buf = f.read()
    except OSError as err:
        raise ImageInputError(path, f'cannot read the file ({err.strerror or err})') from None
    if not buf:
        raise ImageInputError(path, 'empty file (0 bytes)')
    return decode_image_bytes(buf, path, color_type=color_type, max_pixels=max_pixels)


def decode_image_bytes(buf: bytes, source: str, color_type: str = 'color',
                       max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes; see :func:`read_image_file`.

    Decoding is the dataset's own (:func:`decode_plate_image`), so a file
    reaches the model with the pixels evaluation gives it: EXIF orientation
    applied, the same grey conversion, 16-bit scaled and alpha dropped.
    """
    if color_type not in ('color', 'grayscale'):
        raise ValueError(f"color_type must be 'color' or 'grayscale', got {color_type!r}")
    if not buf:
        raise ImageInputError(source, 'no bytes to decode (empty)')
    if max_pixels is not None:
        _check_header_size(buf, source, max_pixels)
    try:
        img = decode_plate_image(buf, color_type)
    except cv2.error as err:
        raise ImageInputError(source, opencv_refusal(err)) from None
    if img is None:
        # A '.csv' of one's own dataset, say: say what inputs can be.
        # (bytes given in memory have no name to judge by)
        named_other = osp.splitext(source)[1] and not is_image_file(source)
        hint = '' if not named_other else (
            f'; inputs are images ({" ".join(IMAGE_EXTENSIONS)}), folders, or label files '
            f'({" ".join(LABEL_EXTENSIONS)}) in the paired format of docs/datasets.md')
        raise ImageInputError(
            source, 'cannot decode: not an image, an unsupported format, or a truncated '
            f'file{hint}')
    return normalize_image(img, source, color_type=color_type, max_pixels=max_pixels)



def _check_header_size(buf: bytes, source: str, max_pixels: int) -> None:
    """Refuse an oversized image from its header alone, as the datasets do
    (:func:`~dld.datasets.transforms.loading.header_too_large`)."""
    oversized = header_too_large(buf, max_pixels)
    if oversized:
        raise ImageInputError(source, oversized)


def normalize_image(img: np.ndarray, source: str = 'array', color_type: str = 'color',
                    max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Bring any decoded or user-given array to ``(H, W, C)`` uint8.

    Accepts ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` (BGR) and ``(H, W, 4)``
    (BGRA; alpha is dropped); uint8, uint16 (scaled down), float in [0, 1]
    or [0, 255], or another integer type holding values in [0, 255].
    ``color_type='color'`` returns 3 channels, ``'grayscale'`` 1. ``source``
    names the image in errors.
    """
    if color_type not in ('color', 'grayscale'):
        raise ValueError(f"color_type must be 'color' or 'grayscale', got {color_type!r}")
    if not isinstance(img, np.ndarray):
        raise ImageInputError(source, f'expected a numpy array, got {type(img).__name__}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        from dld.deploy.onnx_reader import array_shape_hint
        raise ImageInputError(
            source, f'array of shape {tuple(img.shape)} is not an image; expected (H, W), '
            f'(H, W, 1), (H, W, 3) or (H, W, 4){array_shape_hint(img)}')
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ImageInputError(source, f'empty image of shape {tuple(img.shape)}')
    if max_pixels is not None and img.shape[0] * img.shape[1] > max_pixels:
        raise ImageInputError(
            source, f'image of {img.shape[1]}x{img.shape[0]} pixels exceeds the limit of '
            f'{max_pixels} pixels')
    img = _to_uint8(img, source)
    if img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if color_type == 'color' and img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif color_type == 'grayscale' and img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.ndim == 2:
        img = img[..., None]
    return np.ascontiguousarray(img)


def _to_uint8(img: np.ndarray, source: str) -> np.ndarray:
    from dld.deploy.onnx_reader import array_to_uint8  # one rule with the ONNX reader
    try:
        return array_to_uint8(img)
    except ValueError as err:
        raise ImageInputError(source, str(err)) from err


def list_image_folder(folder: str, recursive: bool = True) -> list:
    """Image files under ``folder`` (by extension), sorted for a stable order.

    Symlinked folders are followed, as :class:`~dld.datasets.LRLPRTrackDataset`
    follows them (a scenario linked in from elsewhere); a link back up the
    tree is walked once. macOS's ``._name.png`` files (the metadata it
    writes beside each file on other file systems, never an image) are
    left out: each was an error record, and a frame of its track.
    """
    found = []
    for root, _, files in walk_following_links(folder):
        found += [osp.join(root, name) for name in files
                  if is_image_file(name) and not name.startswith(APPLE_DOUBLE)]
        if not recursive:
            break
    return found
