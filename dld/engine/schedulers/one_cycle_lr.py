"""MMEngine's one-cycle schedule, safe for a warm-up of a single step."""
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
    """

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
