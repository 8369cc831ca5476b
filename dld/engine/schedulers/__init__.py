from .one_cycle_lr import OneCycleLR  # noqa: F401
