"""Which mixed precision a device runs faster than float32."""
import contextlib
import logging
import os
from typing import Optional

import torch
from mmengine.logging import print_log


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 convolutions and matmuls natively:
    AVX512-BF16 or AMX, with oneDNN allowed to use bfloat16.

    oneDNN's own check (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) also
    says yes on an AVX-512 CPU without those instructions (Skylake to Ice
    Lake), where it emulates bfloat16, slower than float32, so the CPU's own
    flags decide.
    """
    native = _cpu_supports('avx512_bf16') or _cpu_supports('amx_tile')
    return native and _onednn_has_bf16() and not _onednn_isa_capped_below_bf16()


def _cpu_supports(isa: str) -> bool:
    """``torch.cpu._is_<isa>_supported()``; False where this torch lacks it."""
    check = getattr(torch.cpu, f'_is_{isa}_supported', None)
    return bool(check()) if check is not None else False


# oneDNN ISA caps (``ONEDNN_MAX_CPU_ISA``) under which bfloat16 is emulated.
_ISAS_WITHOUT_BF16 = frozenset({'SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2',
                                'AVX512_CORE', 'AVX512_CORE_VNNI'})


def _onednn_isa_capped_below_bf16() -> bool:
    cap = os.environ.get('ONEDNN_MAX_CPU_ISA') or os.environ.get('DNNL_MAX_CPU_ISA') or ''
    return cap.strip().upper() in _ISAS_WITHOUT_BF16


def _onednn_has_bf16() -> bool:
    """False on a build without oneDNN or below AVX-512."""
    check = getattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:  # a build without oneDNN
        return False


def fast_autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    """float16 on CUDA, bfloat16 on a CPU with native bfloat16, else None
    (float32 is the fastest there)."""
    if device_type == 'cuda':
        return torch.float16
    if device_type == 'cpu' and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def resolve_amp(device_type: str, enabled: bool) -> Optional[torch.dtype]:
    """The autocast dtype for ``enabled`` mixed precision on ``device_type``, or
    None (float32), with a warning when asked for where float32 is fastest."""
    dtype = fast_autocast_dtype(device_type) if enabled else None
    if enabled and dtype is None:
        print_log(f'Mixed precision ignored on {device_type}: no CUDA device and no '
                  'native bfloat16 on this CPU (AVX512-BF16 or AMX); float32 instead.',
                  logger='current', level=logging.WARNING)
    return dtype


def autocast_to(device_type: str, dtype: Optional[torch.dtype]):
    """``torch.autocast`` to ``dtype``, or a no-op for None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=dtype)
