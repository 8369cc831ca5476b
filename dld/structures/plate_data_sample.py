"""The data sample that travels with every plate crop.

Ground truth and predictions are plain Python values (``str``/``float``), not
``LabelData``: plate strings are short, and metrics, voting and reports read
them directly.
"""
from typing import List, Optional

from mmengine.structures import BaseDataElement


class PlateDataSample(BaseDataElement):
    """One plate crop (one frame of a track).

    Data fields (set by pipelines and models):
        gt_text (str): ground-truth plate string ('' when unknown).
        pred_text (str): predicted string.
        pred_score (float): confidence of ``pred_text``: the model's
            probability of the whole string, in [0, 1] (``exp`` of its
            sequence log-probability; CTC: summed over alignments;
            attention: step probabilities up to and including EOS), the
            same for greedy and beam decoding.
        pred_truncated (bool): whether ``pred_text`` was cut short: the
            attention decoder reached its last step (``max_seq_len``) where
            it would have read on, and was made to end there (a plate longer
            than the model emits). False for a CTC decoder; absent where the
            decoder does not say.
        pred_topk (list[tuple[str, float]]): top-k hypotheses with their
            sequence log-probabilities, best first (when asked for).
        pred_scale (float): the input scale of the kept reading: the
            selector's choice, or the last reread (DLD only).
        pred_scales (list[float]): every scale read, in order (DLD only).
        pred_gflops (float): what reading this image cost, all reads and
            the selector included.
        pred_scale_probs (dict[str, float]): where the selector chose, its
            probability of each candidate scale (``{'1': p, '0.6': p}``,
            ``test_cfg.selector_bias`` included; DLD only).

    Meta fields (set by :class:`PackPlateInputs`): ``lr_path``, ``hr_path``,
    ``track_id``, ``frame_idx``, ``valid_ratio``, ``img_shape``, ``ori_shape``.
    """

    @property
    def gt_text(self) -> str:
        return self._gt_text

    @gt_text.setter
    def gt_text(self, value: str) -> None:
        self.set_field(value, '_gt_text', dtype=str)

    @gt_text.deleter
    def gt_text(self) -> None:
        del self._gt_text

    @property
    def pred_text(self) -> str:
        return self._pred_text

    @pred_text.setter
    def pred_text(self, value: str) -> None:
        self.set_field(value, '_pred_text', dtype=str)

    @pred_text.deleter
    def pred_text(self) -> None:
        del self._pred_text


PlateSampleList = List[PlateDataSample]
OptPlateSampleList = Optional[PlateSampleList]
