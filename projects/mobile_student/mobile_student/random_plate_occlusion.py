"""Training-time occlusion of part of a plate (dirt, bolts, a tow bar)."""
from typing import Sequence, Tuple

import numpy as np

from dld.datasets.transforms.keyed_random import KeyedRandomTransform
from dld.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomPlateOcclusion(KeyedRandomTransform):
    """Fills one random rectangle of the plate with a flat grey.

    Real plates are read through mud, bolt heads and tow bars; the
    synthetic ones are clean. The rectangle is drawn in coordinates relative
    to the image, so with ``consistent=True`` an LR frame and its HR frame
    lose the same part of the plate and the teacher's features stay a fair
    target for the student's. It stays small (``max_area``) so that the
    label remains readable.

    Registered in DLD's ``TRANSFORMS``; it draws from NumPy's global
    generator like DLD's own augmentations, so ``seed_pipeline`` makes its
    draws reproducible too (docs/customize.md).

    Args:
        prob (float): probability of occluding an image at all.
        area (tuple[float, float]): the rectangle's share of the image area.
        aspect (tuple[float, float]): its height over width, relative to the
            image's.
        keys (Sequence[str]): which images: ``'img'`` (LR), ``'img_hr'``.
        consistent (bool): one rectangle for all ``keys`` or one each.

    Modified keys: the ``keys`` present in the results.
    """

    def __init__(self, prob: float = 0.3, area: Tuple[float, float] = (0.02, 0.08),
                 aspect: Tuple[float, float] = (0.5, 2.0),
                 keys: Sequence[str] = ('img', 'img_hr'), consistent: bool = True) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomPlateOcclusion: prob must be in [0, 1], got {prob}.')
        if not 0 < area[0] <= area[1] <= 1:
            raise ValueError(f'RandomPlateOcclusion: area must satisfy 0 < min <= max <= 1, '
                             f'got {tuple(area)}.')
        if not 0 < aspect[0] <= aspect[1]:
            raise ValueError(f'RandomPlateOcclusion: aspect must satisfy 0 < min <= max, '
                             f'got {tuple(aspect)}.')
        self.prob = prob
        self.area = tuple(area)
        self.aspect = tuple(aspect)
        self.keys = tuple(keys)
        self.consistent = consistent

    def _draw(self) -> dict:
        area = np.random.uniform(*self.area)
        aspect = np.exp(np.random.uniform(np.log(self.aspect[0]), np.log(self.aspect[1])))
        h = min(1.0, np.sqrt(area * aspect))
        w = min(1.0, area / h)
        return dict(apply=np.random.rand() < self.prob, h=h, w=w,
                    top=np.random.uniform(0, 1 - h), left=np.random.uniform(0, 1 - w),
                    grey=int(np.random.randint(0, 256)))

    @staticmethod
    def _transform_image(img: np.ndarray, p: dict) -> np.ndarray:
        rows, cols = img.shape[:2]
        # At least one pixel, inside the image however small it is.
        top = min(int(round(p['top'] * rows)), rows - 1)
        left = min(int(round(p['left'] * cols)), cols - 1)
        bottom = max(top + 1, int(round((p['top'] + p['h']) * rows)))
        right = max(left + 1, int(round((p['left'] + p['w']) * cols)))
        out = img.copy()
        out[top:bottom, left:right] = p['grey']
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, area={self.area}, '
                f'aspect={self.aspect}, keys={self.keys}, consistent={self.consistent})')
