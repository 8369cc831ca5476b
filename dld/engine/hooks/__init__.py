from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .epoch_seed_hook import EpochSeedHook  # noqa: F401
from .gumbel_temperature_hook import GumbelTemperatureHook  # noqa: F401
