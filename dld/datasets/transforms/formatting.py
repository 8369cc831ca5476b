"""The last transform of every plate pipeline."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from dld.registry import TRANSFORMS
from dld.structures import PlateDataSample


def _to_chw_tensor(img: np.ndarray) -> torch.Tensor:
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackPlateInputs(BaseTransform):
    """Pack images into uint8 ``(C, H, W)`` tensors and the rest into a
    :class:`PlateDataSample`.

    Args:
        main_stream (str): ``'lr'``: ``inputs`` is the LR image and, when
            loaded, ``inputs_hr`` the HR one (student / distillation).
            ``'hr'``: ``inputs`` is the HR image and there is no
            ``inputs_hr`` (teacher training and teacher-on-HR evaluation);
            ``valid_ratio`` and ``img_shape`` then describe the HR image.
        meta_keys (Sequence[str]): results keys copied into the data sample's
            metainfo when present.

    Returns:
        dict: ``inputs``, ``data_samples`` and, for ``main_stream='lr'`` with
        HR loaded, ``inputs_hr``.
    """

    def __init__(self, main_stream: str = 'lr',
                 meta_keys: Sequence[str] = ('lr_path', 'hr_path', 'track_id', 'frame_idx',
                                             'num_frames', 'sample_idx', 'valid_ratio',
                                             'img_shape', 'ori_shape', 'set_name',
                                             'annotation')) -> None:
        if main_stream not in ('lr', 'hr'):
            raise ValueError(f"main_stream must be 'lr' or 'hr', got {main_stream!r}")
        self.main_stream = main_stream
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        packed = {}
        if self.main_stream == 'hr':
            if results.get('img_hr') is None:
                raise KeyError("PackPlateInputs(main_stream='hr') needs img_hr; load HR "
                               '(LoadPlateImages(with_hr=True), dataset load_hr=True)')
            packed['inputs'] = _to_chw_tensor(results['img_hr'])
            results = dict(results, valid_ratio=results.get('valid_ratio_hr', 1.0),
                           img_shape=results.get('hr_img_shape', results['img_hr'].shape[:2]),
                           ori_shape=results.get('hr_ori_shape', results['img_hr'].shape[:2]))
        else:
            if results.get('img') is None:
                raise KeyError('PackPlateInputs needs img (the LR image)')
            packed['inputs'] = _to_chw_tensor(results['img'])
            if results.get('img_hr') is not None:
                packed['inputs_hr'] = _to_chw_tensor(results['img_hr'])
        sample = PlateDataSample()
        sample.gt_text = results.get('gt_text', '') or ''
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        if 'valid_ratio' not in sample:
            sample.set_metainfo(dict(valid_ratio=1.0))
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(main_stream={self.main_stream!r})'
