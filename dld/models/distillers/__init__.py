from .dld_distiller import DLDDistiller
from .scale_costs import ScaleCosts
from .sequence_plan import SequencePlan, distinct_sequences
from .teacher_checkpoint import load_teacher_weights, resolve_teacher_checkpoint

__all__ = ['DLDDistiller', 'ScaleCosts', 'SequencePlan', 'distinct_sequences',
           'load_teacher_weights', 'resolve_teacher_checkpoint']
