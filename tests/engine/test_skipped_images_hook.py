"""SkippedImagesHook: each epoch's unreadable images are summed over the
dataloader workers and reported once, in the main process's log."""
import re
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModel
from mmengine.runner import Runner

from dld.datasets import PairedPlateDataset
from dld.engine.hooks import SkippedImagesHook

PIPELINE = [dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')]
CORRUPT = b'\x89PNG\r\n\x1a\n not really'


class IgnoresInputs(BaseModel):
    """A model that only needs batches to arrive."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor', **streams):
        return dict(loss=(self.w ** 2).sum())


def _warnings(log):
    return [c.args[0] for c in log.call_args_list]


def _runner_on_a_corrupt_frame(paired_root, tmp_path, num_workers, sampler, train_cfg,
                               hook=None):
    """A runner over the 6 frames of ``paired_root``, the first corrupt."""
    (paired_root / 't0' / 'lr-0.png').write_bytes(CORRUPT)
    dataset = dict(type='PairedPlateDataset', data_root=str(paired_root), ann_file='train.txt',
                   frames='all', pipeline=PIPELINE, seed=0)
    return Runner(
        model=IgnoresInputs(), work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(batch_size=2, num_workers=num_workers, dataset=dataset,
                              sampler=dict(type=sampler, shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=train_cfg, optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[hook or dict(type='SkippedImagesHook')], default_scope='dld')


def test_training_epochs_report_the_skips_of_every_worker(paired_root, tmp_path):
    runner = _runner_on_a_corrupt_frame(paired_root, tmp_path, 2, 'DefaultSampler',
                                        dict(by_epoch=True, max_epochs=2))
    with mock.patch('dld.engine.hooks.skipped_images_hook.print_log') as log:
        runner.train()
    reports = _warnings(log)
    assert len(reports) == 2, reports  # one a training epoch, each with >= 1 skip
    counts = []
    for epoch, report in enumerate(reports, 1):
        found = re.search(r'train\.txt\): (\d+) image\(s\) could not be read in the training '
                          rf'of epoch {epoch} \((\d+) so far\); another random item', report)
        assert found, report
        counts.append(int(found.group(1)))
        assert int(found.group(2)) == sum(counts)
    assert sum(counts) == runner.train_dataloader.dataset.num_skipped_images >= 2


def test_iteration_based_training_reports_every_interval_and_at_its_end(paired_root, tmp_path):
    """Its one "epoch" is the whole training: reported only at the end, a
    corrupt file would pass unnoticed for a run's length."""
    runner = _runner_on_a_corrupt_frame(
        paired_root, tmp_path, 0, 'InfiniteSampler', dict(by_epoch=False, max_iters=7),
        hook=dict(type='SkippedImagesHook', train_iter_interval=3))
    with mock.patch('dld.engine.hooks.skipped_images_hook.print_log') as log:
        runner.train()
    # 6 frames, 2 a batch, lr-0 of t0 first: read at iterations 1, 4 and 7.
    reports = _warnings(log)
    assert [re.search(r'in the training (.*?) \(', r).group(1) for r in reports] == [
        'up to iteration 3', 'up to iteration 6', 'up to iteration 7']
    assert [int(re.search(r'\): (\d+) image', r).group(1)) for r in reports] == [1, 1, 1]
    with pytest.raises(ValueError, match='train_iter_interval'):
        SkippedImagesHook(train_iter_interval=0)


def test_a_test_epoch_says_the_substitutes_are_scored_twice(paired_root):
    (paired_root / 't1' / 'lr-2.png').write_bytes(CORRUPT)
    dataset = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt',
                                 frames='all', pipeline=PIPELINE, test_mode=True, max_retry=1)
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2,
                                         collate_fn=pseudo_collate)
    runner = SimpleNamespace(test_dataloader=loader)
    hook = SkippedImagesHook()
    with mock.patch('dld.engine.hooks.skipped_images_hook.print_log') as log:
        for _ in loader:
            pass
        hook.after_test_epoch(runner)
        hook.after_test_epoch(runner)  # nothing new read: nothing to say
    (report, ) = _warnings(log)
    assert '1 image(s) could not be read in the test (1 so far)' in report
    assert 'scored in place of each, so the metrics count it twice' in report


def test_the_configs_report_skipped_images():
    cfg = Config.fromfile('configs/_base_/default_runtime.py')
    assert cfg.default_hooks.skipped_images['type'] == 'SkippedImagesHook'


SUMMED_SCRIPT = '''
import sys
from types import SimpleNamespace
from unittest import mock

import torch.distributed as dist

from dld.datasets import SkippedImageCounter
from dld.engine.hooks import SkippedImagesHook

dist.init_process_group('gloo')
rank = dist.get_rank()
dataset = SimpleNamespace(skipped_images=SkippedImageCounter(), test_mode=False,
                          ann_file='train.txt', data_root='d')
dataset.skipped_images.add(1 if rank == 0 else 3)  # the second process read 3 of them
loader = SimpleNamespace(dataset=dataset)
runner = SimpleNamespace(train_dataloader=loader, train_loop=object(), epoch=0, iter=0)
with mock.patch('dld.engine.hooks.skipped_images_hook.print_log') as log:
    SkippedImagesHook().after_train_epoch(runner)
said = [c.args[0] for c in log.call_args_list]
open(f'{sys.argv[1]}/said{rank}.txt', 'w').write('\\n'.join(said))
# both done before either leaves: a process that left first had the other's
# gloo threads abort at its exit ('terminate called without an active exception')
dist.barrier()
dist.destroy_process_group()
'''


def test_several_processes_skips_are_summed_before_they_are_said(tmp_path):
    """Each process counted its own, and only the first's line reached the
    console: 1 of 4 unreadable images was said where the second process
    read the other 3 (a distributed journey)."""
    import os
    import socket
    import subprocess
    import sys
    script = tmp_path / 'summed.py'
    script.write_text(SUMMED_SCRIPT)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
         '--master-addr', '127.0.0.1', '--master-port', str(port), str(script), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = (tmp_path / 'said0.txt').read_text()
    assert said.startswith('SimpleNamespace (train.txt): 4 image(s) could not be read in the '
                           'training of epoch 1 (4 so far)')
