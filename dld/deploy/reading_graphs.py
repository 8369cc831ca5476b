"""The computations an exported model runs, as modules ``torch.onnx`` traces.

Each graph takes what :mod:`dld.deploy.onnx_reader` can make without
PyTorch: the test pipeline's resized (and padded) image, uint8
``(B, H, W, C)`` as OpenCV holds it, and its ``valid_ratio``. Everything
after that runs in the graph with the model's own code: the data
preprocessor's normalisation, the resize to the scale
(:func:`~dld.models.selectors.resize_to_scale`), the per-scale BatchNorm
statistics, the encoder and greedy decoding. Only what a graph cannot hold
well is left to the reader: cutting at EOS, CTC's collapse and its score.
"""
from typing import Tuple

import torch
from torch import nn

from dld.models.decoders.padded_memory import content_steps
from dld.models.selectors import resize_to_scale


def preprocess_images(data_preprocessor: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, H, W, C)`` -> the model's float ``(B, C', H, W)`` input,
    by the model's own data preprocessor (channel order, grey/colour,
    normalisation)."""
    return data_preprocessor._process(images.permute(0, 3, 1, 2))


class SelectorGraph(nn.Module):
    """Images at the base size -> the selector's ``(B, k)`` logits."""

    def __init__(self, selector: nn.Module, data_preprocessor: nn.Module) -> None:
        super().__init__()
        self.selector = selector
        self.data_preprocessor = data_preprocessor

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.selector(preprocess_images(self.data_preprocessor, images))


class ScaleReadingGraph(nn.Module):
    """Images at the base size, read greedily at one scale.

    Outputs, attention decoders: ``tokens (B, L)`` int64 (the greedy path,
    EOS forced at the last step) and ``token_logp (B, L)``, each chosen
    token's log-probability; CTC decoders: ``log_probs (B, T, K)``.

    Args:
        recognizer: a ``TextRecognizer`` (a DLD student or a plain one).
        data_preprocessor: the model's (a distiller's, for its student).
        scale: of ``base_size``; the recognizer's BatchNorm statistics are
            those it picks for that input size, as when it reads.
        base_size: ``(H, W)`` the images come at.
    """

    def __init__(self, recognizer: nn.Module, data_preprocessor: nn.Module, scale: float,
                 base_size: Tuple[int, int]) -> None:
        super().__init__()
        self.recognizer = recognizer
        self.data_preprocessor = data_preprocessor
        self.scale = float(scale)
        self.base_size = tuple(int(s) for s in base_size)
        self.attention = bool(recognizer.decoder.reads_padded_memory)

    def forward(self, images: torch.Tensor, valid_ratio: torch.Tensor):
        x = preprocess_images(self.data_preprocessor, images)
        if self.scale != 1.0 or tuple(x.shape[-2:]) != self.base_size:
            x = resize_to_scale(x, self.scale, base_hw=self.base_size)
        memory = self.recognizer.forward_encoder(x)['encoder_out']
        decoder = self.recognizer.decoder
        if not self.attention:
            logits, _ = decoder.forward_test(memory)
            return logits.float().log_softmax(-1)
        logits, _, tokens = decoder._greedy(memory, content_mask_of(valid_ratio, memory))
        token_logp = logits.float().log_softmax(-1).gather(2, tokens[..., None])[..., 0]
        return tokens, token_logp


def content_mask_of(valid_ratio: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """:func:`~dld.models.decoders.padded_memory.content_mask` for a graph:
    always a mask (a graph cannot return None where every step shows the
    image; an all-True mask reads the same steps)."""
    length = memory.shape[1]
    steps = content_steps(valid_ratio, length)
    return torch.arange(length, device=memory.device)[None, :] < steps[:, None]
