"""Small helpers shared across DLD."""
from .flops import count_flops, count_params, scale_input_shapes
from .module_modes import evaluating

__all__ = ['count_flops', 'count_params', 'scale_input_shapes', 'evaluating']
