"""Registered module around :func:`dml_loss`."""
from dld.registry import MODELS

from .functional import dml_loss
from .temperature_logit import TemperatureLogitLoss


@MODELS.register_module()
class DMLLoss(TemperatureLogitLoss):
    """``loss_weight * dml_loss(...)``: symmetric KL per step.

    Nothing is detached, so both inputs receive gradient: use it between two
    students that learn from each other, or with a frozen teacher (whose
    parameters do not require grad) like a symmetric :class:`KLDivLoss`.

    Args: see :class:`TemperatureLogitLoss`.
    """

    loss_fn = staticmethod(dml_loss)
