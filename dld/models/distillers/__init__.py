from .distiller_type import is_distiller_type
from .dld_distiller import DLDDistiller
from .scale_costs import ScaleCosts
from .sequence_plan import SequencePlan, distinct_sequences
from .teacher_checkpoint import load_teacher_weights, resolve_teacher_checkpoint

__all__ = ['DLDDistiller', 'ScaleCosts', 'SequencePlan', 'distinct_sequences',
           'is_distiller_type', 'load_teacher_weights', 'resolve_teacher_checkpoint']
