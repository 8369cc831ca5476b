from .bf16_optim_wrapper import BF16OptimWrapper, cpu_has_native_bf16  # noqa: F401
