"""BatchNorm with one set of running statistics per input scale.

One network reading a plate at 1.0x and at 0.3x sees very different feature
statistics at every layer. Plain BatchNorm averages them into one running
mean/var that fits no scale: on the synthetic plates a DLD student at 1.0x
read 92.6 % of plates with shared statistics and 98.8 % once its statistics
were re-estimated at 1.0x alone (docs/results.md). This layer keeps the
affine weights shared (the teacher's initialisation and every scale train
them) and one running mean/var per scale, switched by :func:`set_active_scale`
(``TextRecognizer`` does that from the input size). It is the "switchable BN"
of slimmable networks, applied to input resolutions.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


class ScaleBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose running statistics are ``(num_scales, C)``.

    ``active`` picks the row that training updates and evaluation uses. A
    state dict of a plain BatchNorm (``(C,)`` statistics, e.g. the teacher's)
    loads by copying its statistics into every scale.
    """

    def __init__(self, num_features: int, num_scales: int, eps: float = 1e-5,
                 momentum: Optional[float] = 0.1, affine: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats=True)
        if num_scales < 1:
            raise ValueError(f'ScaleBatchNorm2d: num_scales must be >= 1, got {num_scales}')
        self.num_scales = num_scales
        self.running_mean = torch.zeros(num_scales, num_features)
        self.running_var = torch.ones(num_scales, num_features)
        self.num_batches_tracked = torch.zeros(num_scales, dtype=torch.long)
        self.active = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        i = self.active
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training:
            self.num_batches_tracked[i] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked[i])
        # Rows of a contiguous (S, C) buffer are contiguous views: batch_norm
        # updates the active scale's statistics in place.
        return F.batch_norm(x, self.running_mean[i], self.running_var[i], self.weight,
                            self.bias, self.training, factor, self.eps)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for name in ('running_mean', 'running_var', 'num_batches_tracked'):
            key = prefix + name
            value = state_dict.get(key)
            own = getattr(self, name)
            if value is not None and value.dim() == own.dim() - 1:
                # a plain BatchNorm's statistics: the same for every scale
                state_dict[key] = value.unsqueeze(0).expand_as(own).clone()
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, num_scales={self.num_scales}'


def convert_to_scale_batch_norm(module: nn.Module, num_scales: int) -> nn.Module:
    """Replace every ``nn.BatchNorm2d`` under ``module`` (in place) by a
    :class:`ScaleBatchNorm2d` with the same weights and, for every scale,
    the same statistics. Returns ``module`` (or the new layer if it is one)."""
    if isinstance(module, nn.BatchNorm2d) and not isinstance(module, ScaleBatchNorm2d):
        if not module.track_running_stats:
            return module
        new = ScaleBatchNorm2d(module.num_features, num_scales, module.eps, module.momentum,
                               module.affine)
        new.load_state_dict(module.state_dict())
        return new.to(module.weight.device if module.affine else module.running_mean.device)
    for name, child in module.named_children():
        setattr(module, name, convert_to_scale_batch_norm(child, num_scales))
    return module


def set_active_scale(module: nn.Module, index: int) -> None:
    """Make every :class:`ScaleBatchNorm2d` under ``module`` use scale ``index``."""
    for m in module.modules():
        if isinstance(m, ScaleBatchNorm2d):
            if not 0 <= index < m.num_scales:
                raise IndexError(f'scale index {index} out of range for {m.num_scales} scales')
            m.active = index
