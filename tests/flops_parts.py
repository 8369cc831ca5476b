"""FLOP counts of a recognizer's parts: the independent measurement the
tests compare a whole reading's FLOPs against."""
import torch
import torch.nn as nn

from dld.utils import count_flops, scale_input_shapes


class CallAsModule(nn.Module):
    """``fn(module, x)`` as a module, counted with its owner's weights."""

    def __init__(self, module, fn):
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, x):
        return self.fn(self.module, x)


def decoding_parts(recognizer, scale: float, base=(48, 144)):
    """``(encoder, greedy, prepare, memory)``: FLOPs of the backbone +
    encoder, on the greedy decoder alone (one sequence), and on the
    decoder's once-per-image memory projection (0 without one), and the
    encoder's output at ``scale``."""
    (h, w), = scale_input_shapes(base, [scale])
    x = torch.zeros(1, 3, h, w)
    encoder = count_flops(
        CallAsModule(recognizer, lambda r, x: r.forward_encoder(x)['encoder_out']), x)
    with torch.no_grad():
        memory = recognizer.forward_encoder(x)['encoder_out']
    decoder = recognizer.decoder
    greedy = count_flops(CallAsModule(decoder, lambda d, m: d.forward_test(m)[0]), memory)
    prepare = 0
    if hasattr(decoder, 'cell'):
        prepare = count_flops(CallAsModule(decoder.cell, lambda c, m: c.prepare(m)), memory)
    return encoder, greedy, prepare, memory
