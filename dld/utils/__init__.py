"""Small helpers shared across DLD."""
from .atomic_file import write_json_atomic, write_text_atomic
from .config_file import read_config
from .flops import count_flops, count_inference_params, count_params, scale_input_shapes
from .folder_walk import walk_following_links
from .module_modes import evaluating
from .precision import autocast_to, cpu_has_native_bf16, fast_autocast_dtype, resolve_amp
from .registry_hints import UnknownTypeError, registry_hints
from .seeded_random import global_random_seeded

__all__ = [
    'autocast_to', 'count_flops', 'count_inference_params', 'count_params',
    'cpu_has_native_bf16', 'evaluating', 'fast_autocast_dtype', 'global_random_seeded',
    'read_config', 'registry_hints', 'resolve_amp', 'scale_input_shapes', 'UnknownTypeError',
    'walk_following_links', 'write_json_atomic', 'write_text_atomic'
]
