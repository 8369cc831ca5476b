"""tools/train.py with ``randomness.deterministic=True``: deterministic
kernels where PyTorch has them, a warning (not a stop) where it has none."""
import os

import torch


def test_a_deterministic_run_warns_on_ops_without_a_deterministic_kernel(
        tiny_teacher_config, train_tool, run_name, tmp_path):
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
              os.environ.pop('CUBLAS_WORKSPACE_CONFIG', None))
    try:
        train_tool.main([tiny_teacher_config, '--work-dir', str(tmp_path), '--cfg-options',
                         f'experiment_name={run_name()}', 'train_cfg.max_epochs=1',
                         'randomness.deterministic=True'])
        assert torch.are_deterministic_algorithms_enabled()
        # On CUDA the feature connector's bilinear backward and CTC's have no
        # deterministic kernel: with warn_only they warn instead of raising.
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ['CUBLAS_WORKSPACE_CONFIG'] == ':4096:8'  # needed by cuBLAS
        assert (tmp_path / 'epoch_1.pth').is_file()
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2:4]
        os.environ.pop('CUBLAS_WORKSPACE_CONFIG', None)
        if before[4] is not None:
            os.environ['CUBLAS_WORKSPACE_CONFIG'] = before[4]
