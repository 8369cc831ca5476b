"""How many frames a DLD student with a CTC decoder reads at each scale."""
from typing import Dict, Tuple

import torch
from mmengine.model import is_model_wrapper

from dld.models.decoders import CTCDecoder
from dld.utils.flops import scale_input_shapes


def ctc_length(text: str) -> int:
    """The frames CTC needs for ``text``: a character each, and a blank
    between two alike."""
    return len(text) + sum(a == b for a, b in zip(text, text[1:]))


def ctc_frames_by_scale(model) -> Dict[float, Tuple[int, Tuple[int, int]]]:
    """``{scale: (frames, (h, w))}`` the CTC student of a DLD ``model``
    reads at each of its scales; empty for any other model."""
    model = model.module if is_model_wrapper(model) else model
    student = getattr(model, 'student', None)
    scales = getattr(model, 'scales', None)
    if student is None or not scales or not isinstance(getattr(student, 'decoder', None),
                                                       CTCDecoder):
        return {}
    channels = next((m.in_channels for m in student.modules()
                     if isinstance(m, torch.nn.Conv2d)), 3)
    param = next(student.parameters())
    out, was_training = {}, student.training
    student.eval()  # the statistics are left as they are
    try:
        with torch.no_grad():
            for scale, (h, w) in zip(scales, scale_input_shapes(model.base_size, scales)):
                x = torch.zeros(1, channels, h, w, device=param.device, dtype=param.dtype)
                out[float(scale)] = (student.encoder(student.extract_feat(x)).shape[1], (h, w))
    finally:
        student.train(was_training)
    return out
