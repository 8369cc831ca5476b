"""Running a module in eval mode for a moment, then giving every submodule its mode back."""
import contextlib
from typing import Iterator

import torch.nn as nn


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """Eval mode inside the block; afterwards each submodule's own mode, restored.

    ``module.train(was_training)`` is not enough: it sets one mode on every
    submodule, so a model in eval mode wrapped by a fresh (training) module,
    or a frozen teacher inside a training distiller, would come out in train
    mode, with BatchNorm then updating its statistics and dropout on.
    """
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, training in modes:
            m.training = training
