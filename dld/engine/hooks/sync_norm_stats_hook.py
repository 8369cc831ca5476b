"""Every process's BatchNorm statistics made one before they are saved or validated."""
from typing import List

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_world_size, is_distributed
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

from dld.registry import HOOKS


@HOOKS.register_module()
class SyncNormStatsHook(Hook):
    """Average the model's floating-point buffers (BatchNorm's running
    statistics, per scale too) over the processes after each training
    epoch, and in an iteration-based loop after each iteration whose
    checkpoint is saved or that is validated; and before a validation no
    such sync preceded.

    Why: DDP is built with ``broadcast_buffers=False`` (MMEngine's default,
    and DLD's on a CPU), so each process keeps the statistics of the share
    of the data it read. The checkpoint holds the first process's, while
    every process validated its share of the set with its own: the logged
    metrics, and the best checkpoint chosen by them, were no checkpoint's
    (a two-process teacher: character accuracy 0.129 in training, 0.122
    when its checkpoint was tested), and a resumed run, whose processes all
    start from the first one's statistics, validated otherwise than the
    unbroken run. Averaged before the checkpoint hook saves (this hook's
    priority is above it), what is validated is what is saved.

    The sum is taken in float64, so a buffer every process holds alike (a
    frozen part's statistics, a constant) keeps its value exactly (a float32
    mean of 3 equal values may move it by a rounding step); integer and
    boolean buffers (batch counts, flags) are left as they are. The frozen
    teacher's buffers, loaded alike everywhere, are not sent at all.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._synced_at = None  # the iterations done at the last sync

    def after_train_epoch(self, runner) -> None:
        if is_distributed():
            self._sync(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        # MMEngine counts the iteration after this hook
        if is_distributed() and isinstance(runner.train_loop, IterBasedTrainLoop) \
                and self._saved_or_validated_after(runner):
            self._sync(runner, runner.iter + 1)

    def before_val_epoch(self, runner) -> None:
        if is_distributed() and self._synced_at != runner.iter:
            self._sync(runner, runner.iter)

    @staticmethod
    def _saved_or_validated_after(runner) -> bool:
        """Whether the iteration just run is one whose checkpoint an
        iteration-based checkpoint hook saves, or after which the loop
        validates (the hooks' own test: ``(iter + 1) % interval == 0``)."""
        done = runner.iter + 1
        intervals = [getattr(runner.train_loop, 'val_interval', 0)] + [
            h.interval for h in runner.hooks
            if isinstance(h, CheckpointHook) and not h.by_epoch]
        return done >= runner.max_iters or any(
            isinstance(i, int) and i > 0 and done % i == 0 for i in intervals)

    @torch.no_grad()
    def _sync(self, runner, done: int) -> None:
        buffers = self._buffers(runner)
        if buffers:
            flat = torch.cat([b.detach().reshape(-1).double() for b in buffers])
            if flat.device.type == 'cpu' and torch_dist.get_backend() == 'nccl':
                flat = flat.cuda()
            torch_dist.all_reduce(flat)
            flat /= get_world_size()
            offset = 0
            for b in buffers:
                b.copy_(flat[offset:offset + b.numel()].view_as(b).to(b.dtype))
                offset += b.numel()
        self._synced_at = done

    @staticmethod
    def _buffers(runner) -> List[torch.Tensor]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        teacher = getattr(model, 'teacher', None)
        frozen = ({id(b) for b in teacher.buffers()}
                  if isinstance(teacher, torch.nn.Module) else set())
        return [b for b in model.buffers()
                if id(b) not in frozen and b.is_floating_point()]
