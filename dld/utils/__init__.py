"""Small helpers shared across DLD."""
from .flops import count_flops, count_params, scale_input_shapes

__all__ = ['count_flops', 'count_params', 'scale_input_shapes']
