"""Base of the augmentations that draw random parameters per LR/HR frame."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform


class KeyedRandomTransform(BaseTransform):
    """Applies one random draw to each image named in ``keys``, or one draw
    to all of them, so that LR and HR frames can move or light up alike
    (``consistent=True``) or independently.

    Subclasses set ``prob``, ``keys`` and ``consistent`` and implement
    :meth:`_draw` (the parameters of one draw, with ``apply``: whether this
    draw transforms at all) and :meth:`_transform_image`.
    """

    prob: float
    keys: Sequence[str]
    consistent: bool

    def _draw(self) -> dict:
        raise NotImplementedError

    @staticmethod
    def _transform_image(img: np.ndarray, params: dict) -> np.ndarray:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        shared = self._draw() if self.consistent else None
        for key in self.keys:
            if results.get(key) is None:
                continue
            params = shared or self._draw()
            if params['apply']:
                results[key] = self._transform_image(results[key], params)
        return results
