"""The input size a checkpoint's model was trained at, recorded in its meta.

A fully convolutional recognizer's weights fit an input of any size, so a
teacher trained at 32x96 loaded into a config that feeds it 48x144 crops
distilled without a word: it read every crop at a size it never saw. A run
records the ``(H, W)`` of the ``inputs`` it trained on; loaders compare.
"""
import logging
from typing import Optional, Sequence, Tuple

from mmengine.logging import print_log

#: checkpoint meta key: ``[H, W]`` of the ``inputs`` the run trained on (a
#: recognizer's image, a distiller's student image at scale 1.0), or None
#: where its batches came in several sizes
INPUT_SIZE = 'input_size'


def batch_input_size(data_batch) -> Optional[Tuple[int, int]]:
    """``(H, W)`` of a data batch's ``inputs`` before the preprocessor
    stacks them (the largest of each side, as it pads), or None where the
    batch holds no images: ``inputs`` a list of ``(C, H, W)`` (or ``(H, W)``)
    images, or one ``(N, C, H, W)`` batch. Anything else (a dict, a stacked
    ``(N, F)`` or ``(N, )`` tensor of a custom set, numpy arrays) is no image
    batch: a stacked ``(N, F)`` was recorded as ``N x F``, a ``(N, )`` one
    stopped the run (ValueError) at its first step."""
    inputs = data_batch.get('inputs') if isinstance(data_batch, dict) else None
    if inputs is None:
        return None
    if getattr(inputs, 'ndim', None) == 4:
        shapes = [tuple(inputs.shape[-2:])]
    elif isinstance(inputs, (list, tuple)):
        shapes = [tuple(x.shape[-2:]) for x in inputs if getattr(x, 'ndim', 0) in (2, 3)]
        if len(shapes) != len(inputs):  # not all images
            return None
    else:
        return None
    if not shapes:
        return None
    return int(max(h for h, _ in shapes)), int(max(w for _, w in shapes))


def recorded_input_size(meta: Optional[dict]) -> Optional[Tuple[int, int]]:
    """The ``(H, W)`` a checkpoint's meta records, or None (saved before DLD
    recorded it, by another tool, or trained on several sizes)."""
    size = (meta or {}).get(INPUT_SIZE)
    if (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)):
        return int(size[0]), int(size[1])
    return None


def warn_if_other_input_size(trained: Optional[Sequence[int]], reads: Sequence[int],
                             name: str, what: str, advice: str) -> bool:
    """Warn where the checkpoint ``name`` was ``trained`` at another size
    (:func:`recorded_input_size`; None: not recorded) than the ``(H, W)``
    it ``reads`` here; True where it warned. ``what`` names the model
    (``'the teacher'``), ``advice`` what to set."""
    trained = None if trained is None else tuple(int(s) for s in trained)
    reads = tuple(int(s) for s in reads)
    if trained is None or trained == reads:
        return False
    print_log(f'{name}: {what} was trained on inputs of {trained[0]}x{trained[1]}, here it '
              f'reads {reads[0]}x{reads[1]}: a recognizer reads best at the size it was '
              f'trained at, and its weights fit any size without an error. {advice}',
              logger='current', level=logging.WARNING)
    return True


def warn_if_recognizer_other_input_size(trained: Optional[Sequence[int]], reads: Sequence[int],
                                        name: str, stream: str = 'lr') -> bool:
    """:func:`warn_if_other_input_size` for a plain recognizer read at the
    size its test pipeline resizes ``stream`` to: said alike by every tool
    that reads one (``PlateRecognizer``, ``tools/test.py``)."""
    return warn_if_other_input_size(
        trained, reads, name, 'the model', f"Set the test pipeline's ResizePair {stream}_size "
        "to the size it was trained at (its training pipeline's).")
