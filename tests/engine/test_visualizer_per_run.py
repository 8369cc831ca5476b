"""Each run in a process writes its scalars into its own folder."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner
from tiny_runner_parts import TinyData, TinyModel

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _train(work_dir, name):
    visualizer = Config.fromfile(osp.join(REPO, 'configs/_base_/default_runtime.py')).visualizer
    runner = Runner(
        model=TinyModel(), work_dir=str(work_dir), experiment_name=name,
        train_dataloader=dict(batch_size=4, dataset=TinyData(),
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        visualizer=visualizer.to_dict())
    runner.train()
    return runner


def test_a_second_run_in_the_process_does_not_write_into_the_first_runs_folder(tmp_path):
    # With the visualizer's name fixed in the config, MMEngine hands the
    # second runner the first one's visualizer, save folder and all.
    first = _train(tmp_path / 'first', 'first_run')
    second = _train(tmp_path / 'second', 'second_run')
    assert second.visualizer is not first.visualizer
    for runner in (first, second):
        scalars = osp.join(runner.log_dir, 'vis_data', 'scalars.json')
        assert osp.isfile(scalars) and runner.work_dir in scalars
        with open(scalars) as f:
            assert len(f.read().splitlines()) == 2  # its own 2 iterations only
