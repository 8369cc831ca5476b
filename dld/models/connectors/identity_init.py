"""How a learned connector starts: random, or as the identity."""
from typing import Optional

import torch
from torch import Tensor

#: ``init`` of a learned connector.
CONNECTOR_INITS = ('random', 'identity')


def check_connector_init(init: str, learned: bool, width_in: int, width_out: int,
                         name: str) -> None:
    """``init='identity'`` is a square projection: between other widths
    there is no identity to start from, and unlearned it is one already."""
    if init not in CONNECTOR_INITS:
        raise ValueError(f'{name}: init must be one of {CONNECTOR_INITS}, got {init!r}')
    if init == 'identity' and learned and width_in != width_out:
        raise ValueError(f"{name}(init='identity') maps {width_in} to {width_out}: the "
                         "identity needs equal widths; leave init='random' there")


@torch.no_grad()
def init_identity(weight: Tensor, bias: Optional[Tensor] = None) -> None:
    """Set a square ``(D, D)`` projection to the identity (bias 0).

    Why: the paper's feature L2 compares the student's features with the
    teacher's themselves. A random projection between equal widths made a
    student copied from its teacher start at a distance of about 1.4 from
    it, with a gradient that pushed it away from the teacher it matched.
    """
    weight.copy_(torch.eye(weight.shape[0], weight.shape[1], dtype=weight.dtype,
                           device=weight.device))
    if bias is not None:
        bias.zero_()
