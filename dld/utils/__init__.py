"""Small helpers shared across DLD.

The helpers below are imported when first used (PEP 562): most of them need
torch, which takes seconds to load, and a tool or benchmark that imports one
light module of this package (``dld.utils.atomic_file``, say) before parsing
its arguments answered ``--help`` only once torch had loaded.
"""
import importlib

# The function, not its module: as when every helper was imported here
# (light: MMEngine's registry, no torch).
from .registry_hints import UnknownTypeError, registry_hints

_HELPERS = {
    'write_json_atomic': 'atomic_file', 'write_text_atomic': 'atomic_file',
    'read_config': 'config_file',
    'count_flops': 'flops', 'count_inference_params': 'flops', 'count_params': 'flops',
    'scale_input_shapes': 'flops',
    'walk_following_links': 'folder_walk',
    'evaluating': 'module_modes',
    'autocast_to': 'precision', 'cpu_has_native_bf16': 'precision',
    'fast_autocast_dtype': 'precision', 'resolve_amp': 'precision',
    'global_random_seeded': 'seeded_random',
}


def __getattr__(name: str):
    module = _HELPERS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{module}', __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_HELPERS))


__all__ = [
    'autocast_to', 'count_flops', 'count_inference_params', 'count_params',
    'cpu_has_native_bf16', 'evaluating', 'fast_autocast_dtype', 'global_random_seeded',
    'read_config', 'registry_hints', 'resolve_amp', 'scale_input_shapes', 'UnknownTypeError',
    'walk_following_links', 'write_json_atomic', 'write_text_atomic'
]
