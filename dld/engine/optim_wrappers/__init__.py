from .bf16_optim_wrapper import BF16OptimWrapper  # noqa: F401
