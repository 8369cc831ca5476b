"""Synthesise the LR frame from the HR one ("resolution distillation")."""
import logging
import os
import zlib
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from dld.registry import TRANSFORMS

from ..degradation import DegradationConfig, degrade_plate


@TRANSFORMS.register_module()
class DegradeHR(BaseTransform):
    """Replace ``img`` by a degraded copy of ``img_hr``.

    The chain (perspective jitter, blur, down-scale, noise, JPEG) is
    :func:`dld.datasets.degradation.degrade_plate`; every field of
    :class:`DegradationConfig` is a keyword argument here, and an unknown one
    fails.

    Args:
        seed (int | None): ``None`` draws from NumPy's global generator
            (seeded per worker by MMEngine), so each epoch sees new
            degradations. An int makes the degradation a function of
            ``(seed, the HR frame's path relative to the set's data_root,
            frame_idx)`` (without a data root: its track id and file name):
            the same LR bytes every epoch and every run, wherever the data
            lies and whatever the order of its label file (a set moved or
            mounted elsewhere, or a line removed, keeps its LR frames: fixed
            evaluation sets made from HR; a flat label file's track ids are
            of its line numbers). Items without a track id key on the path;
            items without a
            path (online plates, arrays) are told apart by ``sample_idx``
            (or ``plate_index``) instead; an item with none of these gets
            the draw of ``(seed, frame_idx)``, with a warning.
        **params: :class:`DegradationConfig` fields.

    Required keys: ``img_hr``. Modified/added keys: ``img``, ``img_shape``,
    ``ori_shape``.
    """

    #: It makes the student's input from the HR frame; at inference the image
    #: given is a real LR frame in its place, so the inferencer leaves this
    #: step out and reads a paired label file's LR frames.
    inference_input = 'lr'

    def __init__(self, seed: Optional[int] = None, **params) -> None:
        self.seed = seed
        self._warned_no_identity = False
        self.cfg = DegradationConfig.from_dict(params)

    def _rng(self, results: dict) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng(np.random.randint(0, 2**31 - 1))
        return np.random.default_rng(
            [self.seed, self._item_key(results), int(results.get('frame_idx') or 0)])

    def _item_key(self, results: dict) -> int:
        """What tells this item's draw from another's: its track id (relative
        to the data root) and file name, else its path, else its index. Not
        the absolute path, which would give the same set other LR frames in
        another folder."""
        path = results.get('hr_path') or results.get('lr_path')
        root = results.get('data_root')
        if path and root:  # the path in the set: neither where it lies nor its line number
            rel = os.path.relpath(str(path), str(root)).replace('\\', '/')
            if not rel.startswith('../'):
                return zlib.crc32(rel.encode())
        if path and results.get('track_id'):
            name = os.path.basename(str(path).replace('\\', '/'))
            return zlib.crc32(f"{results['track_id']}/{name}".encode())
        if path:
            return zlib.crc32(str(path).encode())
        for name in ('sample_idx', 'plate_index'):
            if results.get(name) is not None:
                return zlib.crc32(f'{name}={int(results[name])}'.encode())
        if not self._warned_no_identity:
            self._warned_no_identity = True
            print_log(f'DegradeHR(seed={self.seed}): an item has no hr_path, lr_path, '
                      'sample_idx or plate_index, so every such item gets the same '
                      'degradation; give the items one of these keys.',
                      logger='current', level=logging.WARNING)
        return zlib.crc32(b'')

    def transform(self, results: dict) -> dict:
        if results.get('img_hr') is None:
            raise KeyError('DegradeHR needs img_hr; load HR frames first '
                           '(LoadPlateImages with a dataset that loads HR)')
        img = degrade_plate(results['img_hr'], self._rng(results), self.cfg)
        results['img'] = img
        results['img_shape'] = results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(seed={self.seed}, {self.cfg})'
