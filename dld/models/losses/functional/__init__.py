"""Distillation losses as functions of tensors (shape contracts in docstrings)."""
from .dkd import dkd_loss
from .dml import dml_loss
from .feature_distance import feature_distance_loss
from .kl_div import kl_div_loss
from .reduction import reduce_samples
from .resolution_selector import estimate_unread_scores, resolution_selector_loss
from .sequence_kd import beam_weights, sequence_kd_loss
from .sequence_kl import topk_sequence_kl
from .step_mask import average_valid_steps, prepare_logit_pair

__all__ = [
    'kl_div_loss', 'dml_loss', 'dkd_loss', 'sequence_kd_loss', 'beam_weights',
    'feature_distance_loss', 'resolution_selector_loss', 'estimate_unread_scores', 'reduce_samples',
    'average_valid_steps', 'prepare_logit_pair', 'topk_sequence_kl'
]
