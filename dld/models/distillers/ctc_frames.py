"""How many frames a CTC recognizer (a DLD student, or one on its own) reads
at each scale."""
from typing import Dict, Optional, Tuple

import torch
from mmengine.model import is_model_wrapper

from dld.utils.flops import scale_input_shapes


def ctc_length(text: str) -> int:
    """The frames CTC needs for ``text``: a character each, and a blank
    between two alike."""
    return len(text) + sum(a == b for a, b in zip(text, text[1:]))


def reads_per_frame(recognizer) -> bool:
    """Whether ``recognizer``'s decoder gives one distribution per encoder
    frame (``CTCDecoder`` or a decoder of one's own that says
    ``logits_per_frame = True``), so that a label needs its CTC length of
    frames; an ``isinstance`` check let a CTC head of one's own train on
    labels it could never read."""
    return bool(getattr(getattr(recognizer, 'decoder', None), 'logits_per_frame', False))


def ctc_frames_by_scale(model) -> Dict[float, Tuple[int, Tuple[int, int]]]:
    """``{scale: (frames, (h, w))}`` the CTC student of a DLD ``model``
    reads at each of its scales; empty for any other model."""
    model = model.module if is_model_wrapper(model) else model
    student = getattr(model, 'student', None)
    scales = getattr(model, 'scales', None)
    if student is None or not scales or not reads_per_frame(student):
        return {}
    return frames_at_scales(student, model.base_size, scales)


def recognizer_ctc_frames(model, dataloader, training: bool = False
                          ) -> Dict[float, Tuple[int, Tuple[int, int]]]:
    """``{scale: (frames, (h, w))}`` a plain recognizer with a CTC decoder
    reads from ``dataloader``: at the size its pipeline resizes the stream
    it packs to (scale 1.0), or, ``training``, at each of its
    ``train_scales`` of that size where it has them (it trains at those
    alone); empty for any other model, or a pipeline that resizes nothing."""
    model = model.module if is_model_wrapper(model) else model
    if hasattr(model, 'student') or not reads_per_frame(model):
        return {}
    size = loader_input_size(dataloader)
    if size is None:
        return {}
    scales = (training and getattr(model, 'train_scales', None)) or (1.0, )
    return frames_at_scales(model, size, sorted({float(s) for s in scales}, reverse=True))


def loader_input_size(dataloader) -> Optional[Tuple[int, int]]:
    """:func:`input_size` of the first plate set's pipeline of ``dataloader``."""
    from dld.datasets import BasePlateDataset, nested_datasets
    return next((input_size(dataset.pipeline.transforms) for dataset
                 in nested_datasets(getattr(dataloader, 'dataset', None))
                 if isinstance(dataset, BasePlateDataset)), None)


def input_size(transforms) -> Optional[Tuple[int, int]]:
    """The ``(H, W)`` of the image a pipeline packs as ``inputs`` (the last
    ``ResizePair``'s size for the stream ``PackPlateInputs`` packs), or None."""
    stream = next((t.main_stream for t in transforms if hasattr(t, 'main_stream')), 'lr')
    sizes = [getattr(t, f'{stream}_size') for t in transforms if hasattr(t, f'{stream}_size')]
    return tuple(int(s) for s in sizes[-1]) if sizes else None


def frames_at_scales(recognizer, base_size, scales) -> Dict[float, Tuple[int, Tuple[int, int]]]:
    """``{scale: (frames, (h, w))}`` the encoder of ``recognizer`` gives at
    each scale of ``base_size``."""
    channels = next((m.in_channels for m in recognizer.modules()
                     if isinstance(m, torch.nn.Conv2d)), 3)
    param = next(recognizer.parameters())
    out, was_training = {}, recognizer.training
    recognizer.eval()  # the statistics are left as they are
    try:
        with torch.no_grad():
            for scale, (h, w) in zip(scales, scale_input_shapes(base_size, scales)):
                x = torch.zeros(1, channels, h, w, device=param.device, dtype=param.dtype)
                out[float(scale)] = (recognizer.encoder(recognizer.extract_feat(x)).shape[1],
                                     (h, w))
    finally:
        recognizer.train(was_training)
    return out
