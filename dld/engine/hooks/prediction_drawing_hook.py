"""Draw each test image with its reading: ``tools/test.py --show-dir``."""
import logging
import os
import os.path as osp
from typing import Optional

import cv2
import numpy as np
from mmengine.dataset import DefaultSampler
from mmengine.dist import all_gather_object, barrier, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from dld.registry import HOOKS
from dld.utils.flags import check_flag


@HOOKS.register_module()
class PredictionDrawingHook(Hook):
    """After each test batch, write every image (or only the misread ones)
    with its prediction, confidence, scale and label drawn on it.

    Why a picture of the input and not of the file: the hook draws the image
    the model was given (the packed ``inputs``, after the test pipeline's
    resize and padding), resized to the scale the student read it at (area
    interpolation, close to the student's antialiased resize), so an LR
    frame made from an HR one on the fly, a padded frame, or an HR crop the
    efficiency setting's student reads are all shown as read.
    The drawings are those of ``tools/infer.py --vis``
    (:func:`dld.apis.prediction_drawing.draw_prediction`); the reading is
    green when right, red when wrong, as the config's plate metric counts.

    Files are named ``{sample_idx:06d}_{track}_frame_{frame_idx}.png`` by
    the test set's index, so the processes of a distributed test do not
    collide (samples without ``sample_idx`` are counted instead, in one
    process only).

    Args:
        out_dir (str): where the drawings go (created).
        misread_only (bool): draw only the labelled images read wrong.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, misread_only: bool = False) -> None:
        if not out_dir:
            raise ValueError('PredictionDrawingHook needs an out_dir')
        self.out_dir = str(out_dir)
        self.misread_only = check_flag(misread_only, 'PredictionDrawingHook.misread_only')
        self._case_sensitive = False
        self._drawn = self._seen = 0

    def before_test(self, runner) -> None:
        from dld.apis.plate_matching import plate_metric_case_sensitive
        if osp.exists(self.out_dir) and not osp.isdir(self.out_dir):
            raise ValueError(f'PredictionDrawingHook: out_dir {self.out_dir} is a file; '
                             'give a folder')
        os.makedirs(self.out_dir, exist_ok=True)
        earlier = [n for n in os.listdir(self.out_dir) if n.endswith('.png')]
        if earlier:
            print_log(f'{self.out_dir} holds {len(earlier)} drawing(s) already; they stay, '
                      "and this test's are written beside them (a name taken gets -1, -2...; "
                      "give an empty folder to see this test's alone)", logger='current',
                      level=logging.WARNING)
        self._case_sensitive = plate_metric_case_sensitive(runner.cfg)
        self._drawn = self._seen = 0
        self._drawn_indices = set()
        self._padding_from = _padding_from(runner.test_dataloader)
        # every process looks before any draws: another's first drawings
        # were taken for earlier ones
        barrier()

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs=None) -> None:
        if not data_batch or not outputs:
            return
        for img, sample in zip(data_batch['inputs'], outputs):
            index = sample.metainfo.get('sample_idx')
            if index is None:
                if get_world_size() > 1:  # the processes' counters would collide
                    raise ValueError(
                        'PredictionDrawingHook names drawings by the test set\'s sample_idx, '
                        "which these samples lack (PackPlateInputs' meta_keys); without it "
                        'the processes of a distributed test overwrite each other\'s files')
                index = self._seen
            position = get_rank() + self._seen * get_world_size()
            self._seen += 1
            if self._padding_from is not None and position >= self._padding_from:
                continue  # the sampler's padding: an image another process draws
            if self._draw(_as_image(img), sample, int(index)):
                self._drawn += 1
                self._drawn_indices.add(int(index))

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        which = 'misread image(s)' if self.misread_only else 'image(s)'
        drawn = self._drawn
        if get_world_size() > 1:
            # every process's drawings, not the first's; an image the sampler
            # gave twice to even the processes' shares counted once
            drawn = len(set().union(*all_gather_object(self._drawn_indices)))
        print_log(f'Drew {drawn} {which} with their readings in {self.out_dir}',
                  logger='current')

    def _draw(self, img: np.ndarray, sample, index: int) -> bool:
        from dld.apis.plate_matching import plate_read_right
        from dld.apis.prediction_drawing import save_visualization
        from dld.utils.flops import scale_input_shapes
        gt = sample.get('gt_text', '')
        text = sample.get('pred_text', '')
        if self.misread_only and (not gt or plate_read_right(text, gt, self._case_sensitive)):
            return False
        scale = sample.get('pred_scale')
        # Named by frame, not by file: the lr_path of an HR-reading pipeline's
        # sample is there but not what was read.
        frame = sample.metainfo.get('frame_idx')
        record = dict(input=f'frame_{frame}' if frame is not None else 'image', path=None,
                      text=text,
                      confidence=float(sample.get('pred_score', 0.0)), scale=scale,
                      gflops=sample.get('pred_gflops'), track_id=sample.metainfo.get('track_id'),
                      gt_text=gt)
        if scale is not None:
            (h, w), = scale_input_shapes(img.shape[:2], [float(scale)])
            record['input_size'] = [h, w]
            if (h, w) != img.shape[:2]:  # the pixels the student read at that scale
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        save_visualization(img, record, self.out_dir, index, self._case_sensitive)
        return True


def _padding_from(dataloader) -> Optional[int]:
    """Where the padding of a distributed test's sampler starts, as a
    position in the padded order, or None where there is none to skip.

    MMEngine's ``DefaultSampler`` (``round_up``) evens the processes'
    shares by repeating the first items; process ``r``'s ``k``-th item is
    position ``r + k * world_size`` of the padded order, a repeat from the
    set's length on. The metrics drop them; drawn, the repeat was a second
    file (``..._frame_0-1.png``) of an image already drawn."""
    sampler = getattr(dataloader, 'sampler', None)
    if get_world_size() == 1 or not isinstance(sampler, DefaultSampler) or not sampler.round_up:
        return None
    return len(sampler.dataset)


def _as_image(img) -> np.ndarray:
    """A packed ``(C, H, W)`` uint8 input as an ``(H, W, C)`` array."""
    img = img.detach().cpu().numpy() if hasattr(img, 'detach') else np.asarray(img)
    return np.ascontiguousarray(img.transpose(1, 2, 0))
