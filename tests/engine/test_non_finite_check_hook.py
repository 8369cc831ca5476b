"""NonFiniteCheckHook: a step that leaves NaN or infinity stops the run."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from dld.engine.hooks import NonFiniteCheckHook


def _runner(model=None, scaler=False, it=0, last=None, work_dir='.'):
    hub = MessageHub.get_instance(f'non_finite_{id(model)}_{it}')
    if last:
        hub.update_info('last_ckpt', last)
    wrapper = SimpleNamespace(loss_scaler=object() if scaler else None)
    return SimpleNamespace(model=model or nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)),
                           optim_wrapper=wrapper, message_hub=hub, epoch=0, iter=it,
                           work_dir=work_dir)


def test_a_finite_step_passes():
    NonFiniteCheckHook().after_train_iter(_runner(), 0, outputs=dict(loss=torch.tensor(0.3)))


def test_a_loss_that_requires_grad_is_read_without_a_warning():
    """The runner hands over the step's loss as computed (it printed torch's
    'Converting a tensor with requires_grad=True to a scalar' in every run)."""
    import warnings
    loss = (torch.tensor(0.3, requires_grad=True) * 2)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        NonFiniteCheckHook().after_train_iter(_runner(), 0, outputs=dict(loss=loss))


def test_a_non_finite_loss_stops_the_run_naming_the_last_checkpoint(tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'x')
    last = str(tmp_path / 'epoch_1.pth')
    runner = _runner(it=4, last=last, work_dir=str(tmp_path))
    with pytest.raises(RuntimeError, match=r'diverged at epoch 1, iteration 5: the loss is nan\. '
                       rf'.*the last checkpoint, {last}, was saved before it: tools/train\.py '
                       rf'--resume continues from {last}; resume so with a lower'):
        NonFiniteCheckHook().after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(
            float('nan'))))
    # another work dir's (a run resumed from it, no checkpoint of its own yet): named whole
    runner = _runner(it=5, last=last, work_dir=str(tmp_path / 'fresh'))
    with pytest.raises(RuntimeError, match=rf'tools/train\.py --resume {last} continues from it '
                       r'\(a bare --resume reads'):
        NonFiniteCheckHook().after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(
            float('nan'))))


@pytest.mark.parametrize('where', ['0.weight', '1.running_var'])
def test_weights_or_statistics_gone_non_finite_with_a_finite_loss_stop_it(where):
    runner = _runner()
    with torch.no_grad():
        dict(runner.model.named_parameters(), **dict(runner.model.named_buffers()))[where] \
            .view(-1)[0] = float('inf')
    with pytest.raises(RuntimeError, match=rf'the step left {where} holding NaN or infinity\. '
                       r'.*no checkpoint was saved yet'):
        NonFiniteCheckHook().after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(0.3)))


def test_frozen_weights_and_statistics_in_eval_mode_are_not_checked():
    """A frozen teacher's cannot change: checking them would cost every step."""
    frozen = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).eval()
    frozen[0].weight.requires_grad_(False)
    with torch.no_grad():
        frozen[0].weight[0, 0] = float('nan')
        frozen[1].running_mean[0] = float('nan')
    model = nn.ModuleDict(dict(teacher=frozen, student=nn.Linear(2, 2)))
    NonFiniteCheckHook().after_train_iter(_runner(model), 0, outputs=dict(loss=1.0))


def test_with_a_loss_scaler_skipped_steps_are_allowed_up_to_a_limit():
    hook = NonFiniteCheckHook(max_skipped_steps=3)
    runner = _runner(scaler=True)
    for _ in range(3):
        hook.after_train_iter(runner, 0, outputs=dict(loss=float('inf')))
    hook.after_train_iter(runner, 0, outputs=dict(loss=2.0))  # the count starts again
    for _ in range(3):
        hook.after_train_iter(runner, 0, outputs=dict(loss=float('inf')))
    with pytest.raises(RuntimeError, match='the loss is inf for 4 steps in a row'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=float('inf')))


def test_with_an_interval_the_weights_are_checked_before_a_checkpoint():
    hook = NonFiniteCheckHook(interval=5)
    runner = _runner(it=1)
    with torch.no_grad():
        runner.model[0].bias[0] = float('nan')
    hook.after_train_iter(runner, 0, outputs=dict(loss=0.5))  # not a checked iteration
    with pytest.raises(RuntimeError, match='the checkpoint to save has 0.bias holding NaN'):
        hook.before_save_checkpoint(runner, {})


@pytest.mark.parametrize('kwargs', [dict(interval=0), dict(interval=True),
                                    dict(max_skipped_steps=-1)])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError, match='must be an int >= 1'):
        NonFiniteCheckHook(**kwargs)
