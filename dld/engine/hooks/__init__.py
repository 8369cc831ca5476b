from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .epoch_seed_hook import EpochSeedHook  # noqa: F401
from .gumbel_temperature_hook import GumbelTemperatureHook  # noqa: F401
from .label_chars_check_hook import LabelCharsCheckHook  # noqa: F401
from .label_length_check_hook import LabelLengthCheckHook  # noqa: F401
from .resumed_schedule_check_hook import ResumedScheduleCheckHook  # noqa: F401
from .resumed_validation_hook import ResumedValidationHook  # noqa: F401
from .skipped_images_hook import SkippedImagesHook  # noqa: F401
