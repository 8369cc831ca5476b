"""DLD: Dynamic Low-Resolution Distillation for text and licence-plate recognition."""
from .version import __version__

__all__ = ['__version__']
