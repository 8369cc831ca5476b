"""Memories of several widths as one padded batch, for one decoder pass."""
from typing import Sequence, Tuple

import torch
from torch.nn import functional as F


def pad_memories(memories: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``[(B_i, T_i, D)] -> memory (sum B_i, max T_i, D), mask (sum B_i, max T_i)``.

    The student reads each scale as a memory of its own width; padded to the
    longest and masked (True on real steps), they decode in one pass of a
    decoder that ``reads_padded_memory``, which on a CPU is cheaper than one
    small pass per scale (``benchmarks/padded_decoding.py``). Rows keep the order of ``memories``.
    """
    longest = max(m.shape[1] for m in memories)
    memory = torch.cat([F.pad(m, (0, 0, 0, longest - m.shape[1])) for m in memories])
    steps = torch.arange(longest, device=memory.device)
    mask = torch.cat([(steps < m.shape[1]).expand(m.shape[0], longest) for m in memories])
    return memory, mask
