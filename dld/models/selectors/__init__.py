"""Dynamic Resolution Selector and the resize that realises its choice."""
from .resolution_selector import ResolutionSelector, sample_gumbel_like
from .scale_resize import resize_to_scale

__all__ = ['ResolutionSelector', 'resize_to_scale', 'sample_gumbel_like']
