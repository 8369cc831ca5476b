"""Bring LR and HR frames to the network input sizes."""
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from dld.registry import TRANSFORMS

_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR,
               bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)


@TRANSFORMS.register_module()
class ResizePair(BaseTransform):
    """LR: scale to the student's height keeping the aspect ratio, then pad on
    the right to the student's width (the content fraction is
    ``valid_ratio``). HR: resize to the teacher's exact size, no padding.

    Why the asymmetry: a real LR crop's aspect ratio varies with the
    detector's box and the student should see undistorted glyphs; the
    teacher was trained on fixed-size HR crops and gets exactly that.

    Args:
        lr_size (tuple[int, int]): student input ``(H, W)``.
        hr_size (tuple[int, int]): teacher input ``(H, W)``.
        lr_keep_ratio (bool): False resizes LR to ``lr_size`` exactly too
            (``valid_ratio`` = 1).
        pad_value (int): grey level of the right padding.
        interpolation (str): 'nearest', 'bilinear', 'bicubic' or 'area'.

    Modified keys: ``img``, ``img_shape``, ``img_hr``, ``hr_img_shape``.
    Added keys: ``valid_ratio`` (LR), ``valid_ratio_hr`` (always 1.0).
    """

    def __init__(self, lr_size: Tuple[int, int] = (48, 144),
                 hr_size: Tuple[int, int] = (48, 144), lr_keep_ratio: bool = True,
                 pad_value: int = 0, interpolation: str = 'bilinear') -> None:
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation must be one of {sorted(_INTERP)}, '
                             f'got {interpolation!r}')
        self.lr_size = tuple(int(s) for s in lr_size)
        self.hr_size = tuple(int(s) for s in hr_size)
        self.lr_keep_ratio = lr_keep_ratio
        self.pad_value = pad_value
        self.interpolation = interpolation

    def _resize(self, img: np.ndarray, w: int, h: int) -> np.ndarray:
        out = cv2.resize(img, (w, h), interpolation=_INTERP[self.interpolation])
        return out.reshape(h, w, img.shape[2])

    def resize_lr(self, img: np.ndarray) -> Tuple[np.ndarray, float]:
        th, tw = self.lr_size
        if not self.lr_keep_ratio:
            return self._resize(img, tw, th), 1.0
        h, w = img.shape[:2]
        new_w = int(min(tw, max(1, round(w * th / h))))
        out = np.full((th, tw, img.shape[2]), self.pad_value, dtype=img.dtype)
        out[:, :new_w] = self._resize(img, new_w, th)
        return out, new_w / tw

    def transform(self, results: dict) -> dict:
        if results.get('img') is not None:
            results['img'], results['valid_ratio'] = self.resize_lr(results['img'])
            results['img_shape'] = self.lr_size
        if results.get('img_hr') is not None:
            th, tw = self.hr_size
            results['img_hr'] = self._resize(results['img_hr'], tw, th)
            results['hr_img_shape'] = self.hr_size
            results['valid_ratio_hr'] = 1.0
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(lr_size={self.lr_size}, hr_size={self.hr_size}, '
                f'lr_keep_ratio={self.lr_keep_ratio})')
