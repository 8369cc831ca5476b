"""Training-time small geometric augmentation of LR and/or HR frames."""
from typing import Sequence, Tuple

import cv2
import numpy as np

from dld.registry import TRANSFORMS

from .keyed_random import KeyedRandomTransform


@TRANSFORMS.register_module()
class PlateRandomAffine(KeyedRandomTransform):
    """Small rotation, shear, scale and shift, in units relative to the image
    so that one draw means the same motion on LR and HR of any size.

    Args:
        prob (float): probability of transforming.
        max_rotate (float): degrees.
        max_shear (float): horizontal shear factor (``x += shear * y``).
        scale (tuple[float, float]): zoom range.
        max_shift (tuple[float, float]): max shift as a fraction of (W, H).
        keys (Sequence[str]): which images: ``'img'`` (LR), ``'img_hr'``.
        consistent (bool): the same motion on every key (keeps LR/HR
            features aligned for feature distillation) or one draw each.

    Modified keys: the ``keys`` present in the results. Shapes are kept;
    borders replicate the edge.
    """

    def __init__(self, prob: float = 0.5, max_rotate: float = 4.0, max_shear: float = 0.15,
                 scale: Tuple[float, float] = (0.92, 1.05),
                 max_shift: Tuple[float, float] = (0.03, 0.06),
                 keys: Sequence[str] = ('img', 'img_hr'), consistent: bool = True) -> None:
        self.prob = prob
        self.max_rotate = max_rotate
        self.max_shear = max_shear
        self.scale = tuple(scale)
        self.max_shift = tuple(max_shift)
        self.keys = tuple(keys)
        self.consistent = consistent
        self._check_draw_settings(prob=prob)

    def _draw(self) -> dict:
        return dict(apply=np.random.rand() < self.prob,
                    angle=np.random.uniform(-self.max_rotate, self.max_rotate),
                    shear=np.random.uniform(-self.max_shear, self.max_shear),
                    scale=np.random.uniform(*self.scale),
                    dx=np.random.uniform(-self.max_shift[0], self.max_shift[0]),
                    dy=np.random.uniform(-self.max_shift[1], self.max_shift[1]))

    @staticmethod
    def _transform_image(img: np.ndarray, p: dict) -> np.ndarray:
        h, w = img.shape[:2]
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), p['angle'], p['scale'])
        m = np.vstack([rot, [0, 0, 1]])
        shear = np.array([[1, p['shear'], -p['shear'] * h / 2], [0, 1, 0], [0, 0, 1]])
        m = shear @ m
        m[0, 2] += p['dx'] * w
        m[1, 2] += p['dy'] * h
        out = cv2.warpAffine(img, m[:2], (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        return out.reshape(img.shape)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, max_rotate={self.max_rotate}, '
                f'max_shear={self.max_shear}, scale={self.scale}, keys={self.keys}, '
                f'consistent={self.consistent})')
