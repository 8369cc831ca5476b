"""A runner with ``randomness.deterministic=True`` leaves PyTorch's
determinism on for the process (MMEngine never turns it off): a later
runner of the process (a notebook) with ``deterministic=False`` turns off
what the earlier one turned on, and keeps a user's own setting."""
import torch

from dld.engine import dld_runner
from dld.engine.dld_runner import DLDRunner


def _state():
    return (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark)


def test_a_later_runner_without_determinism_runs_without_it(monkeypatch):
    before = _state(), torch.is_deterministic_algorithms_warn_only_enabled()
    monkeypatch.setattr(dld_runner, '_before_deterministic', None, raising=False)
    monkeypatch.delenv('CUBLAS_WORKSPACE_CONFIG', raising=False)  # set by the first: put back
    try:
        first, second = object.__new__(DLDRunner), object.__new__(DLDRunner)
        first.set_randomness(0, deterministic=True)
        assert _state() == (True, True, False)
        # as tools/train.py: ops without a deterministic CUDA kernel warn
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        second.set_randomness(0, deterministic=False)
        assert _state() == before[0]
        # a user's own setting, made before any runner, is kept
        torch.use_deterministic_algorithms(True)
        object.__new__(DLDRunner).set_randomness(0, deterministic=False)
        assert torch.are_deterministic_algorithms_enabled()
        # a later runner's env_cfg.cudnn_benchmark=True (setup_env, run before
        # set_randomness) is kept: it was put back to the first one's False
        torch.use_deterministic_algorithms(before[0][0], warn_only=before[1])
        object.__new__(DLDRunner).set_randomness(0, deterministic=True)
        torch.backends.cudnn.benchmark = True  # what the next runner's setup_env does
        object.__new__(DLDRunner).set_randomness(0, deterministic=False)
        assert torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0][0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[0][1:]
