"""Mixed precision in bfloat16, on the CPU as on CUDA."""
import logging
from contextlib import contextmanager

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from torch import nn

from dld.registry import OPTIM_WRAPPERS
from dld.utils.precision import cpu_has_native_bf16


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """Runs the forward pass (loss included) under bfloat16 autocast on the
    model's own device, the parameters, gradients and optimizer state in float32.

    MMEngine's ``AmpOptimWrapper`` refuses the CPU, and its float16 needs a loss
    scaler. bfloat16 keeps float32's exponent range, so it needs none: this
    wrapper is ``OptimWrapper`` plus ``torch.autocast``. On a 2-core CPU with
    AVX512-BF16 a DLD training step ran 1.39x faster and a student step at 1.0x
    1.68x; the no-KD recipe's step, mostly on small inputs, gained nothing
    (docs/results.md, Costs).
    On a CPU without native bfloat16 oneDNN emulates it and the step is slower,
    which the wrapper logs once. DLD's losses, beam scores and decoder
    log-probabilities are float32 whatever the autocast dtype.

    Args:
        **kwargs: ``OptimWrapper``'s (``optimizer``, ``accumulative_counts``,
            ``clip_grad``).
    """

    cast_dtype = torch.bfloat16

    def __init__(self, **kwargs) -> None:
        if 'dtype' in kwargs:
            raise TypeError('BF16OptimWrapper computes in bfloat16 only; for float16 use '
                            "type='AmpOptimWrapper' (CUDA, with a loss scaler).")
        super().__init__(**kwargs)
        self._device_checked = False

    @contextmanager
    def optim_context(self, model: nn.Module):
        device_type = _device_type(model)
        if not self._device_checked:
            self._device_checked = True
            if device_type == 'cpu' and not cpu_has_native_bf16():
                print_log('BF16OptimWrapper: this CPU has no native bfloat16 (AVX512-BF16 '
                          'or AMX); oneDNN emulates it, and training is slower than in '
                          'float32.', logger='current', level=logging.WARNING)
        with super().optim_context(model), torch.autocast(device_type=device_type,
                                                          dtype=self.cast_dtype):
            yield


def _device_type(model: nn.Module) -> str:
    for p in model.parameters():
        return p.device.type
    return 'cpu'
