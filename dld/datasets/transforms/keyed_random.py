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

    #: The images a plate pipeline holds: the LR frame and the HR frame.
    IMAGE_KEYS = ('img', 'img_hr')

    def _check_draw_settings(self, **probabilities: float) -> None:
        """Refuse, when built, ``keys`` naming no image (``img_hrr`` would
        leave the HR frame untransformed, silently) and probabilities
        outside [0, 1]."""
        unknown = [k for k in self.keys if k not in self.IMAGE_KEYS]
        if unknown or not self.keys:
            raise ValueError(f'{type(self).__name__}: keys must name images of '
                             f'{self.IMAGE_KEYS}, got {tuple(self.keys)}')
        for name, value in probabilities.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{type(self).__name__}: {name} is a probability in [0, 1], '
                                 f'got {value}')

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
