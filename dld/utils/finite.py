"""Finding NaN and infinity in a model's weights and statistics."""
import torch


def first_non_finite(model: torch.nn.Module):
    """The name of the first floating-point parameter or buffer of ``model``
    holding a NaN or an infinity, else None (one device sync)."""
    tensors = [(n, t) for n, t in model.state_dict(keep_vars=True).items()
               if t.is_floating_point()]
    if not tensors:
        return None
    with torch.no_grad():
        finite = torch.stack([t.detach().isfinite().all() for _, t in tensors])
    if bool(finite.all()):
        return None
    return tensors[int((~finite).nonzero()[0])][0]
