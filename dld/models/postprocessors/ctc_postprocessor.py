"""Best-path collapsing for CTC outputs."""
from typing import List

import torch

from dld.registry import MODELS

from .base_postprocessor import BasePostProcessor


@MODELS.register_module()
class CTCPostProcessor(BasePostProcessor):
    """Collapses repeats, then drops blanks (the CTC many-to-one map)."""

    def collapse(self, path: torch.Tensor) -> List[List[int]]:
        """``path (B, T)`` frame labels -> B character index lists."""
        blank = self.dictionary.blank_idx
        keep = torch.ones_like(path, dtype=torch.bool)
        keep[:, 1:] = path[:, 1:] != path[:, :-1]
        keep &= path != blank
        path, keep = path.cpu().tolist(), keep.cpu().tolist()
        return [[i for i, k in zip(p, m) if k] for p, m in zip(path, keep)]
