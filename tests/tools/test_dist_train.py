"""tools/train.py under torchrun: two CPU processes, gloo, one short epoch."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

import dld.engine  # noqa: F401  (allow-list for torch.load below)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.slow
def test_torchrun_two_processes_train_one_epoch(tiny_teacher_config, tmp_path, free_port):
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
        '--master-addr', '127.0.0.1', '--master-port', str(free_port()),
        osp.join(REPO, 'tools', 'train.py'), tiny_teacher_config, '--launcher', 'pytorch',
        '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1'
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    # the whole of stderr: every process's error (a tail left out the one that aborted)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    ckpt = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 1
    # 8 training frames / (2 ranks x batch 4) = 1 iteration per epoch.
    assert ckpt['meta']['iter'] == 1
    # The saved weights carry no DDP `module.` prefix.
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])


TINY_DLD = '''
model = dict(teacher_ckpt={teacher!r}, teacher=_tiny, student=_tiny, scale_strategy='sampled')
train_cfg = dict(max_epochs=2)
'''


@pytest.mark.slow
def test_torchrun_two_processes_train_dld(tiny_dld_config, tmp_path, free_port):
    """DDP checks after every step that each parameter got its gradient: the
    distiller's steps (two scales drawn per image, the selector, the frozen
    teacher) must keep that true from one step to the next."""
    config = tiny_dld_config(TINY_DLD)
    work = tmp_path / 'dld'
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
        '--master-addr', '127.0.0.1', '--master-port', str(free_port()),
        osp.join(REPO, 'tools', 'train.py'), config, '--launcher', 'pytorch',
        '--work-dir', str(work)
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    # the whole of stderr: every process's error (a tail left out the one that aborted)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    ckpt = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['iter'] == 2  # a second DDP step after the first
    assert any(k.startswith('selector.') for k in ckpt['state_dict'])
