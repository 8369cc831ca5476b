from .dld_distiller import DLDDistiller
from .scale_costs import ScaleCosts

__all__ = ['DLDDistiller', 'ScaleCosts']
