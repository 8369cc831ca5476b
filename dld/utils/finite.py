"""Finding NaN and infinity in a model's weights and statistics."""
import math

import torch


def first_non_finite(model: torch.nn.Module, changing_only: bool = False):
    """The name of the first floating-point parameter or buffer of ``model``
    holding a NaN or an infinity, else None (one device sync).

    ``changing_only``: only what a training step can change, the parameters
    that train and the buffers of modules in training mode (a frozen
    teacher's are left out).
    """
    if changing_only:
        tensors = [(f'{m}.{n}' if m else n, t) for m, module in model.named_modules()
                   for n, t in [*((n, p) for n, p in module.named_parameters(recurse=False)
                                  if p.requires_grad),
                                *(module.named_buffers(recurse=False) if module.training
                                  else ())]
                   if t is not None and t.is_floating_point()]
    else:
        tensors = [(n, t) for n, t in model.state_dict(keep_vars=True).items()
                   if t.is_floating_point()]
    tensors = [(n, t) for n, t in tensors if t.numel()]
    if not tensors:
        return None
    with torch.no_grad():
        values = [t.detach() for _, t in tensors]
        try:  # one fused pass: the largest magnitude of each, NaN if any is
            peaks = torch._foreach_norm(values, math.inf)
        except (AttributeError, RuntimeError, TypeError):  # an older or other torch
            peaks = [v.abs().amax() for v in values]
        finite = torch.stack([p.float() for p in peaks]).isfinite()
    if bool(finite.all()):
        return None
    return tensors[int((~finite).nonzero()[0])][0]
