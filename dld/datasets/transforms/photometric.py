"""Training-time photometric augmentation of LR and/or HR frames."""
from typing import Sequence, Tuple

import cv2
import numpy as np

from dld.registry import TRANSFORMS

from .keyed_random import KeyedRandomTransform


@TRANSFORMS.register_module()
class PlatePhotometricDistort(KeyedRandomTransform):
    """Random brightness, contrast, gamma and greying.

    Args:
        prob (float): probability of distorting an image at all.
        brightness (float): max shift, as a fraction of 255.
        contrast (float): factor drawn from ``[1 - contrast, 1 + contrast]``.
        gamma (tuple[float, float]): gamma range (``> 1`` darkens).
        gray_prob (float): probability of turning the image grey (kept
            3-channel when it was).
        keys (Sequence[str]): which images: ``'img'`` (LR), ``'img_hr'``.
        consistent (bool): one draw for all ``keys`` (the same lighting in
            LR and HR) or one draw each.

    Modified keys: the ``keys`` present in the results.
    """

    def __init__(self, prob: float = 0.8, brightness: float = 0.25, contrast: float = 0.3,
                 gamma: Tuple[float, float] = (0.7, 1.5), gray_prob: float = 0.1,
                 keys: Sequence[str] = ('img', 'img_hr'), consistent: bool = False) -> None:
        self.prob = prob
        self.brightness = brightness
        self.contrast = contrast
        self.gamma = tuple(gamma)
        self.gray_prob = gray_prob
        self.keys = tuple(keys)
        self.consistent = consistent
        self._check_draw_settings(prob=prob, gray_prob=gray_prob)

    def _draw(self) -> dict:
        return dict(apply=np.random.rand() < self.prob,
                    shift=np.random.uniform(-self.brightness, self.brightness) * 255,
                    scale=np.random.uniform(1 - self.contrast, 1 + self.contrast),
                    gamma=np.random.uniform(*self.gamma),
                    gray=np.random.rand() < self.gray_prob)

    @staticmethod
    def _transform_image(img: np.ndarray, p: dict) -> np.ndarray:
        x = img.astype(np.float32)
        mean = x.mean()
        x = (x - mean) * p['scale'] + mean + p['shift']
        x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** p['gamma']
        if p['gray'] and x.shape[2] == 3:
            g = cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)
            x = np.repeat(g[..., None], 3, axis=2)
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, brightness={self.brightness}, '
                f'contrast={self.contrast}, gamma={self.gamma}, keys={self.keys}, '
                f'consistent={self.consistent})')
