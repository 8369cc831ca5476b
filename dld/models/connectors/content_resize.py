"""Resize a student's features onto the teacher's, content onto content."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def resize_content(x: Tensor, size: Sequence[int],
                   content_ratio: Optional[Tensor] = None) -> Tensor:
    """``(B, C, h, w) -> (B, C, H, W)``, bilinear; image ``b``'s left
    ``content_ratio[b]`` of its width spread over the whole output width.

    Why: ``ResizePair`` pads an LR frame on the right to keep its aspect
    ratio (its ``valid_ratio``) but stretches the HR frame over the
    teacher's whole input. Resized whole, a plate that fills 60 % of a
    padded student map would be compared with the left 60 % of the
    teacher's. Without ratios this is :func:`F.interpolate`
    (``align_corners=False``); a ratio of 1 samples the same points. The
    grid is computed in float32 at least, outside autocast: in bfloat16
    its positions would be off by a third of a column and read the padding.
    """
    size = tuple(int(s) for s in size)
    if content_ratio is None:
        if size == tuple(x.shape[-2:]):
            return x
        return F.interpolate(x, size=size, mode='bilinear', align_corners=False)
    dtype = torch.promote_types(x.dtype, torch.float32)
    with torch.autocast(x.device.type, enabled=False):
        ratio = content_ratio.to(x.device, dtype).clamp(min=1e-3, max=1.0)
        # Output x in [-1, 1] -> input x in [-1, 2 r - 1]: the content's span.
        theta = torch.zeros(x.shape[0], 2, 3, device=x.device, dtype=dtype)
        theta[:, 0, 0] = ratio
        theta[:, 0, 2] = ratio - 1
        theta[:, 1, 1] = 1
        grid = F.affine_grid(theta, [x.shape[0], x.shape[1], *size], align_corners=False)
        # Clamped one column inside the content's right edge (r w), as
        # interpolate clamps to the last column: no column past the one the
        # content ends in is read, and that one with at most its content's
        # share of the weight (all of it when r w is a whole number).
        last = (2 * ratio - 1 - 1 / x.shape[-1]).view(-1, 1, 1)
        grid = torch.stack([torch.minimum(grid[..., 0], last), grid[..., 1]], dim=-1)
        out = F.grid_sample(x.to(dtype), grid, mode='bilinear', padding_mode='border',
                            align_corners=False)
    return out.to(x.dtype)


def resize_content_steps(x: Tensor, length: int,
                         content_ratio: Optional[Tensor] = None) -> Tensor:
    """``(B, T, D) -> (B, length, D)`` along time, linear, as
    :func:`resize_content` along the width: the steps of image ``b``'s left
    ``content_ratio[b]`` spread over all ``length`` steps."""
    if content_ratio is None:
        if int(length) == x.shape[1]:
            return x
        return F.interpolate(x.transpose(1, 2), size=int(length), mode='linear',
                             align_corners=False).transpose(1, 2)
    maps = x.transpose(1, 2).unsqueeze(2)  # (B, D, 1, T)
    return resize_content(maps, (1, int(length)), content_ratio).squeeze(2).transpose(1, 2)
