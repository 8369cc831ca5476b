"""DLD: Dynamic Low-Resolution Distillation for text and licence-plate recognition."""
import os

from .version import __version__

# oneDNN, which runs torch's CPU convolutions, compiles one kernel per
# layer, pass and input shape and keeps 1024 of them. DLD's training step
# reads each scale on a sub-batch whose size changes every step, which
# needs about 3000 kernels: with 1024 it recompiles them every step and
# spends a third of the step doing so (benchmarks/training_step_cost.py,
# docs/results.md). oneDNN reads the capacity when it first runs, so this
# applies when dld is imported before any CPU convolution has run; a value
# the user set is kept.
ONEDNN_PRIMITIVE_CACHE_CAPACITY = 8192
os.environ.setdefault('ONEDNN_PRIMITIVE_CACHE_CAPACITY', str(ONEDNN_PRIMITIVE_CACHE_CAPACITY))

__all__ = ['__version__', 'ONEDNN_PRIMITIVE_CACHE_CAPACITY']
