"""tools/train.py refuses a misspelt or mistyped optimizer or schedule
setting in one line, before the data is read: MMEngine builds both inside
``Runner.train()``, after the training set, where each was a traceback of
some 40 lines (an unknown optimizer type: "None is not a callable object")."""
import types

import pytest
import torch
from mmengine.optim import OptimWrapper

from dld.engine.optimization_build import trial_build_schedulers


@pytest.mark.parametrize('option, said', [
    ('optim_wrapper.optimizer.lrr=0.1', "unexpected keyword argument 'lrr'. Did you mean 'lr'?"),
    ('optim_wrapper.optimizer.type=Adamw', "Did you mean 'AdamW'"),
    ('optim_wrapper.optimizer.lr=le-3', "optim_wrapper.optimizer.lr must be a number, got 'le-3'"),
    ('optim_wrapper.optimizer.betas=0.9', 'optim_wrapper.optimizer.betas must be 2 numbers'),
    ('optim_wrapper.optimizer.lr=-1', 'Invalid learning rate: -1'),
    ('param_scheduler.0.eta_maxx=1e-3', "param_scheduler.0 (OneCycleLR): "),
    ('param_scheduler.0.eta_max=1e-3x', "param_scheduler.0.eta_max must be a number"),
    ('param_scheduler.0.end=0', 'param_scheduler.0 (OneCycleLR): end should be larger than'),
])
def test_a_refused_optimizer_setting_is_one_line_before_the_data(tiny_config, train_tool,
                                                                 run_name, tmp_path, capsys,
                                                                 option, said):
    data = tmp_path / 'data'
    config = tmp_path / 'tiny.py'
    config.write_text(tiny_config('configs/teacher_plate_hr.py', str(data),
                                  "model = dict(_tiny)\nparam_scheduler = [dict(type='OneCycleLR',"
                                  " eta_max=1e-3, by_epoch=True, begin=0, end=1)]\n"
                                  'train_cfg = dict(max_epochs=1)\n'))
    with pytest.raises(SystemExit) as info:
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'run'),
                         '--cfg-options', option, f'experiment_name={run_name()}'])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('train.py: the optimizer or its schedule') and said in err, err
    assert 'Traceback' not in err
    assert not data.exists()  # refused before the synthetic set was rendered


def test_the_trial_build_leaves_the_optimizer_as_it_was():
    """The schedulers are tried on a stand-in: the run's optimizer gets no
    ``initial_lr`` and keeps its lr until Runner.train() builds them."""
    param = torch.nn.Parameter(torch.zeros(2))
    wrapper = OptimWrapper(torch.optim.AdamW([param], lr=0.5))
    before = [dict(g) for g in wrapper.optimizer.param_groups]
    runner = types.SimpleNamespace(optim_wrapper=wrapper, param_schedulers=[
        dict(type='OneCycleLR', eta_max=1.0, by_epoch=True, begin=0, end=3,
             convert_to_iter_based=True),
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)])
    trial_build_schedulers(runner)
    assert wrapper.optimizer.param_groups == before
    assert not hasattr(wrapper, '_global_step') and not hasattr(wrapper.optimizer, '_global_step')


def test_the_trial_build_leaves_the_logged_base_lr_as_it_was():
    """With several parameter groups (a ``paramwise_cfg``) MMEngine's wrapper
    shows schedulers one more, whose lr it logs as ``base_lr``: a warm-up
    tried on it applied its ``start_factor`` there twice over the run."""
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    wrapper = OptimWrapper(torch.optim.AdamW([dict(params=[a]), dict(params=[b], lr=0.05)],
                                             lr=0.5))
    before = dict(wrapper.base_param_settings)
    runner = types.SimpleNamespace(optim_wrapper=wrapper, param_schedulers=[
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)])
    trial_build_schedulers(runner)
    assert wrapper.base_param_settings == before


def test_a_peak_per_parameter_group_is_not_refused():
    """``OneCycleLR(eta_max=[...])``, one peak per group, is a schedule
    MMEngine and DLD's OneCycleLR build: the kind check took it for a word."""
    param = torch.nn.Parameter(torch.zeros(2))
    wrapper = OptimWrapper(torch.optim.AdamW([param], lr=0.5))
    trial_build_schedulers(types.SimpleNamespace(optim_wrapper=wrapper, param_schedulers=[
        dict(type='OneCycleLR', eta_max=[1.0], by_epoch=False, begin=0, end=10)]))
