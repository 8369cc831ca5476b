from .ce_module_loss import CEModuleLoss, pad_targets
from .ctc_module_loss import CTCModuleLoss

__all__ = ['CEModuleLoss', 'CTCModuleLoss', 'pad_targets']
