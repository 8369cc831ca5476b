"""LoaderWorkersStopHook: a run's persistent workers stop when it ends."""

import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner
from tiny_runner_parts import TinyData, TinyModel
from torch.utils.data import DataLoader

from dld.engine.hooks.loader_workers_stop_hook import loader_workers_stopped, stop_loader_workers


class _SeesWorkers(Hook):
    workers = []

    def after_train_epoch(self, runner):
        self.workers = list(runner.train_dataloader._iterator._workers)


def _runner(tmp_path, name, stop_hook, sees):
    return Runner(
        model=TinyModel(), work_dir=str(tmp_path / name), experiment_name=name,
        train_dataloader=dict(batch_size=4, num_workers=2, persistent_workers=True,
                              dataset=TinyData(), sampler=dict(type='DefaultSampler')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        default_hooks=dict(checkpoint=None, logger=None,
                           **(dict(loader_workers=dict(type='LoaderWorkersStopHook'))
                              if stop_hook else {})),
        custom_hooks=[sees],
        env_cfg=dict(mp_cfg=dict(mp_start_method='fork')), default_scope='dld')


@pytest.mark.parametrize('stop_hook', [True, False])
def test_the_runs_workers_stop_when_it_ends(tmp_path, stop_hook):
    sees = _SeesWorkers()
    runner = _runner(tmp_path, f'run{stop_hook}', stop_hook, sees)
    runner.train()
    loader, workers = runner.train_dataloader, sees.workers
    assert len(workers) == 2
    if stop_hook:
        assert loader._iterator is None and not any(w.is_alive() for w in workers)
    else:  # MMEngine leaves them to the garbage collector
        assert all(w.is_alive() for w in workers)
        stop_loader_workers(loader)
        assert not any(w.is_alive() for w in workers)


def test_stopped_workers_leave_the_loader_usable():
    loader = DataLoader(TinyData(), batch_size=4, num_workers=2, persistent_workers=True,
                        multiprocessing_context='fork')
    assert sum(len(b['data_samples']) for b in loader) == 8
    workers = loader._iterator._workers
    assert stop_loader_workers(loader)
    assert not any(w.is_alive() for w in workers)
    assert sum(len(b['data_samples']) for b in loader) == 8  # new workers
    assert stop_loader_workers(loader) and not stop_loader_workers(loader)
    assert not stop_loader_workers(DataLoader(TinyData(), batch_size=4))


class _Fails(Hook):
    def after_train_epoch(self, runner):
        raise RuntimeError('a run that fails')


def test_a_run_that_raises_stops_its_workers_in_loader_workers_stopped(tmp_path):
    """after_run never comes; the context the tools run in stops them."""
    sees = _SeesWorkers()
    runner = _runner(tmp_path, 'fails', True, sees)
    runner.register_hook(_Fails(), priority='LOWEST')
    with pytest.raises(RuntimeError, match='a run that fails'):
        with loader_workers_stopped(runner):
            runner.train()
    loader, workers = runner.train_dataloader, sees.workers
    assert len(workers) == 2
    assert loader._iterator is None and not any(w.is_alive() for w in workers)
