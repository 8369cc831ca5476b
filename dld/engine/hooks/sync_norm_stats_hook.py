"""Every process's BatchNorm statistics made one before each validation."""
from typing import Iterator

import torch
from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from dld.registry import HOOKS


@HOOKS.register_module()
class SyncNormStatsHook(Hook):
    """Average the model's buffers (BatchNorm's running statistics, per
    scale too) over the processes after each training epoch, and before a
    validation that no epoch end preceded (an iteration-based loop).

    Why: DDP is built with ``broadcast_buffers=False`` (MMEngine's default,
    and DLD's on a CPU), so each process keeps the statistics of the half of
    the data it read. The checkpoint holds the first process's, while every
    process validated its share of the set with its own: the logged
    metrics, and the best checkpoint chosen by them, were no checkpoint's
    (a two-process teacher: character accuracy 0.129 in training, 0.122
    when its checkpoint was tested), and a resumed run, whose processes all
    start from the first one's statistics, validated otherwise than the
    unbroken run. Averaged before the checkpoint is saved (this hook's
    priority is above the checkpoint hook's), what is validated is what is
    saved, on every process.

    MMEngine's ``SyncBuffersHook`` does the same to every buffer; this one
    leaves out the frozen teacher's (``model.teacher``), which every process
    loaded alike and which an average over 3 processes could move by a
    rounding step.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._synced_in_train = False

    def after_train_epoch(self, runner) -> None:
        if is_distributed():
            all_reduce_params(self._buffers(runner), op='mean')
            self._synced_in_train = True

    def before_val_epoch(self, runner) -> None:
        if is_distributed() and not self._synced_in_train:
            all_reduce_params(self._buffers(runner), op='mean')
        self._synced_in_train = False

    @staticmethod
    def _buffers(runner) -> Iterator[torch.Tensor]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        teacher = getattr(model, 'teacher', None)
        frozen = ({id(b) for b in teacher.buffers()}
                  if isinstance(teacher, torch.nn.Module) else set())
        return (b for b in model.buffers() if id(b) not in frozen)
