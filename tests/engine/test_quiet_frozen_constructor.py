"""A paramwise_cfg with a frozen teacher: one line for the frozen parameters,
not MMEngine's line per teacher weight."""
from log_records import current_log_records
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as ROOT
from mmengine.registry import DefaultScope
from torch import nn

import dld.engine  # noqa: F401


class Distiller(nn.Module):
    def __init__(self):
        super().__init__()
        self.teacher = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        self.student = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        self.teacher.requires_grad_(False)


def _build(model):
    cfg = dict(optimizer=dict(type='AdamW', lr=0.1),
               paramwise_cfg=dict(custom_keys={'student.0': dict(lr_mult=0.0)}))
    with DefaultScope.overwrite_default_scope('dld'):
        constructor = ROOT.build(dict(type='DefaultOptimWrapperConstructor',
                                      optim_wrapper_cfg=cfg, paramwise_cfg=cfg.pop(
                                          'paramwise_cfg')))
    return constructor(model)


def test_frozen_parameters_are_said_once_by_part():
    model = Distiller()
    with current_log_records() as records:
        wrapper = _build(model)
    said = [r.getMessage() for r in records]
    assert not [m for m in said if 'is skipped since its requires_grad' in m]
    assert '4 frozen parameter(s) left out of the optimizer (teacher.*: 4)' in said
    trained = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert trained == {id(p) for p in model.student.parameters()}
    lrs = sorted(g['lr'] for g in wrapper.optimizer.param_groups)
    assert lrs == [0.0, 0.0, 0.1, 0.1]  # the multipliers as MMEngine sets them


def test_paramwise_settings_are_said_once_per_group_not_per_weight():
    """MMEngine said each setting of each matched weight on a line of its own
    (4 per weight: 156 lines for a frozen backbone of 39 weights)."""
    with current_log_records() as records:
        _build(Distiller())
    said = [r.getMessage() for r in records]
    assert not [m for m in said if m.startswith('paramwise_options -- ')]
    assert 'paramwise_cfg: 2 parameter(s) with lr=0.0, lr_mult=0.0 (student.0.*: 2)' in said


def test_the_logger_is_left_as_it_was():
    from mmengine.logging import print_log
    _build(Distiller())
    with current_log_records() as records:  # after the build: not filtered any more
        print_log('x.weight is skipped since its requires_grad=False', logger='current')
    assert [r.getMessage() for r in records] == ['x.weight is skipped since its '
                                                 'requires_grad=False']
