"""MMEngine's one-cycle schedule, safe for a warm-up of a single step, and
keeping the learning-rate multipliers of ``paramwise_cfg``."""
from mmengine.optim.scheduler import OneCycleLR as MMEngineOneCycleLR

from dld.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(MMEngineOneCycleLR):
    """``OneCycleLR`` as MMEngine's, except where a phase spans no step.

    MMEngine ends the warm-up at step ``pct_start * total_steps - 1``. When
    that product is exactly 1 (``pct_start=0.1`` over 10 iterations, as a
    short trial on a tiny set hits) the warm-up spans no step and MMEngine
    divides by zero while building the scheduler. Registered under the same
    name in DLD's scope, so the shipped configs get it unchanged: a phase of
    no length counts as finished, every other value is MMEngine's.

    A single ``eta_max`` is the peak of the optimizer's own ``lr``: a
    parameter group built with another (``paramwise_cfg``'s ``lr_mult``,
    e.g. ``custom_keys={'student.backbone': dict(lr_mult=0.0)}`` to freeze a
    backbone while fine-tuning) peaks at ``eta_max`` times its multiplier.
    MMEngine gave every group ``eta_max``, so such a multiplier changed
    nothing and a "frozen" backbone trained at the full rate. A list of
    ``eta_max`` (one per group) is taken as given.
    """

    def __init__(self, optimizer, eta_max=0, *args, **kwargs):
        if not isinstance(eta_max, (list, tuple)):
            eta_max = _peaks_per_group(optimizer, eta_max)
        super().__init__(optimizer, eta_max, *args, **kwargs)

    def _get_value(self):
        phase, start = self._phase_at(self.last_step)
        if phase['end_step'] != start:
            return super()._get_value()
        # The phase is over before it begins: its end value, where the next starts.
        end_key = phase['end_' + self.param_name]
        return [group[end_key] for group in self.optimizer.param_groups]

    def _phase_at(self, step: int) -> tuple:
        """The phase MMEngine places ``step`` in, and the step it starts at."""
        start = 0
        last = len(self._schedule_phases) - 1
        for i, phase in enumerate(self._schedule_phases):
            if step <= phase['end_step'] or i == last:
                return phase, start
            start = phase['end_step']


def _peaks_per_group(optimizer, eta_max: float):
    """``eta_max`` times each parameter group's ``lr`` multiplier (its ``lr``
    over the optimizer's default), as a list; ``eta_max`` itself where every
    group has the default ``lr`` (or the default is 0 or unknown)."""
    inner = getattr(optimizer, 'optimizer', optimizer)  # an OptimWrapper's optimizer
    base = (getattr(inner, 'defaults', None) or {}).get('lr')
    groups = optimizer.param_groups
    # Each group's lr as built, before any scheduler: a scheduler built
    # before this one (a LinearLR warm-up) has already set 'lr' to its own
    # first value, and a OneCycleLR overwrites MMEngine's 'initial_lr'; the
    # first OneCycleLR keeps it under BUILT_LR_KEY for the next.
    for group in groups:
        group.setdefault(BUILT_LR_KEY, group.get('initial_lr', group.get('lr', base)))
    if not base or all(group[BUILT_LR_KEY] == base for group in groups):
        return eta_max
    return [eta_max * group[BUILT_LR_KEY] / base for group in groups]


#: The parameter groups' key of their lr before any scheduler (see :func:`_peaks_per_group`).
BUILT_LR_KEY = 'built_lr'
