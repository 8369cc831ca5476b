"""Registered module around :func:`kl_div_loss`."""
from dld.registry import MODELS

from .functional import kl_div_loss
from .temperature_logit import TemperatureLogitLoss


@MODELS.register_module()
class KLDivLoss(TemperatureLogitLoss):
    """``loss_weight * kl_div_loss(...)``: KL(teacher || student) per step.

    Args: see :class:`TemperatureLogitLoss`.
    """

    loss_fn = staticmethod(kl_div_loss)
