"""Memories of several widths as one padded batch, for one decoder pass, and
the steps of a memory that show the image rather than its padding."""
import math
import struct
from typing import Optional, Sequence, Tuple

import torch
from torch.nn import functional as F


def content_mask(valid_ratios: Sequence[float], length: int,
                 device=None) -> Optional[torch.Tensor]:
    """``(B, length)``, True on the first ``ceil(r * length)`` steps of each
    memory (at least one): those that show the image of an LR frame that
    ``ResizePair`` padded on the right to its ``valid_ratio`` ``r``; None
    when every step does.

    An attention decoder reads only these, as SAR does (mmocr): a narrow
    plate (two rows, ``r`` about 0.4) would otherwise spread its attention
    and its initial state over more padding than plate.
    """
    ratios = [float(r) for r in valid_ratios]
    # decided in Python floats (float64, as content_steps computes): a tensor
    # test here was a host sync, and a graph break under torch.compile
    dtype = torch.get_default_dtype()  # what torch.as_tensor holds them in (float32)
    if all(_shows_every_step(r, length, dtype) for r in ratios):
        return None
    steps = content_steps(torch.as_tensor(ratios, dtype=dtype), length)
    steps = steps.to(device)
    return torch.arange(length, device=device)[None, :] < steps[:, None]


def _shows_every_step(ratio: float, length: int, dtype: torch.dtype = torch.float32) -> bool:
    """``content_steps`` of one ratio (held in ``dtype``, as the tensor holds
    it: float32 unless the default dtype was changed) is ``length``,
    computed in Python floats."""
    if dtype == torch.float32:
        ratio = struct.unpack('f', struct.pack('f', ratio))[0]
    elif dtype != torch.float64:  # a half default dtype: rounded as torch rounds it
        ratio = float(torch.tensor(ratio, dtype=dtype))
    if math.isnan(ratio) or ratio == math.inf:
        ratio = 1.0
    elif ratio == -math.inf:
        ratio = 0.0
    return length <= 1 or math.ceil(ratio * length - 1e-6) >= length


def content_steps(valid_ratios: torch.Tensor, length: int) -> torch.Tensor:
    """``(B,)`` long: how many of ``length`` memory steps show each image,
    ``ceil(r * length)`` (at least one), computed in float64 (in float32 it
    is one step more for some widths once ``length`` is 45 or more). Tensor
    operations only, so an exported graph computes it as PyTorch does."""
    # unknown: read every step; the infinities as clamped below (the default
    # ones overflow the float32 constant an exported graph holds)
    ratios = valid_ratios.double().nan_to_num(nan=1.0, posinf=1.0, neginf=0.0)
    return (ratios * length - 1e-6).ceil().clamp(1, length).long()


def pad_memories(memories: Sequence[torch.Tensor],
                 masks: Optional[Sequence[Optional[torch.Tensor]]] = None
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``[(B_i, T_i, D)] -> memory (sum B_i, max T_i, D), mask (sum B_i, max T_i)``.

    The student reads each scale as a memory of its own width; padded to the
    longest and masked (True on real steps), they decode in one pass of a
    decoder that ``reads_padded_memory``, which on a CPU is cheaper than one
    small pass per scale (``benchmarks/padded_decoding.py``). Rows keep the
    order of ``memories``. ``masks``: each memory's own ``(B_i, T_i)`` mask
    (:func:`content_mask`, None: every step), kept within its rows.
    """
    longest = max(m.shape[1] for m in memories)
    memory = torch.cat([F.pad(m, (0, 0, 0, longest - m.shape[1])) for m in memories])
    masks = masks or [None] * len(memories)
    padded = []
    for m, own in zip(memories, masks, strict=True):
        if own is None:
            own = torch.ones(m.shape[:2], dtype=torch.bool, device=memory.device)
        padded.append(F.pad(own, (0, longest - m.shape[1]), value=False))
    return memory, torch.cat(padded)
