from .bf16_optim_wrapper import BF16OptimWrapper  # noqa: F401
from .quiet_frozen_constructor import DefaultOptimWrapperConstructor  # noqa: F401
