"""End-of-sequence handling for autoregressive outputs."""
from typing import List

import torch

from dld.registry import MODELS

from .base_postprocessor import BasePostProcessor


@MODELS.register_module()
class AttentionPostProcessor(BasePostProcessor):
    """Cuts each token sequence at its first EOS."""

    def truncate(self, tokens: torch.Tensor) -> List[List[int]]:
        """``tokens (B, L)`` -> B character index lists, EOS and after removed."""
        end = self.dictionary.end_idx
        out = []
        for row in tokens.cpu().tolist():
            out.append(row[:row.index(end)] if end in row else row)
        return out
