"""A checkpoint saved on a GPU read on a machine without one: MMEngine keeps
the optimizer state on the device it was on, which torch cannot load there
without a map_location."""
import pytest
import torch
import torch.serialization as serialization
from mmengine.config import Config

import dld.engine  # noqa: F401  (the checkpoint allow-list)


def _saved_on_cuda(path) -> None:
    """A checkpoint with a teacher's weights whose optimizer state's storage
    is tagged cuda:0, as a GPU run's is."""
    state = torch.zeros(3)
    checkpoint = dict(meta={}, state_dict={'teacher.w': torch.ones(2)},
                      optimizer={'state': {0: {'exp_avg': state}},
                                 'param_groups': [{'lr': 0.1, 'params': [0]}]})
    tag = serialization.location_tag

    def on_cuda(storage):
        return 'cuda:0' if storage.data_ptr() == state.untyped_storage().data_ptr() else \
            tag(storage)

    serialization.location_tag = on_cuda
    try:
        torch.save(checkpoint, path)
    finally:
        serialization.location_tag = tag


def test_a_gpu_saved_load_from_gives_its_teacher_on_a_cpu_only_machine(train_tool, tmp_path):
    """A selector stage whose teacher file is gone takes load_from's teacher:
    from a GPU run's checkpoint that was a traceback ('Attempting to
    deserialize object on a CUDA device')."""
    if torch.cuda.is_available():  # the point is a machine without one
        pytest.skip('needs a machine without CUDA')
    ckpt = tmp_path / 'dld_gpu.pth'
    _saved_on_cuda(ckpt)
    cfg = Config(dict(model=dict(type='DLDDistiller', teacher_ckpt=str(tmp_path / 'gone.pth')),
                      load_from=str(ckpt)))
    train_tool.start_with_saved_teacher(cfg)
    assert cfg.model.teacher_ckpt is None  # the checkpoint's teacher is taken
