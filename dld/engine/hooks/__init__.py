from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .counts_kept_logger_hook import CountsKeptLoggerHook  # noqa: F401
from .early_stopping_hook import EarlyStoppingHook  # noqa: F401
from .epoch_seed_hook import EpochSeedHook  # noqa: F401
from .fresh_metrics_hook import FreshMetricsHook  # noqa: F401
from .gumbel_temperature_hook import GumbelTemperatureHook  # noqa: F401
from .label_chars_check_hook import LabelCharsCheckHook  # noqa: F401
from .label_length_check_hook import LabelLengthCheckHook  # noqa: F401
from .loader_workers_stop_hook import LoaderWorkersStopHook  # noqa: F401
from .non_finite_check_hook import NonFiniteCheckHook, TrainingDivergedError  # noqa: F401
from .prediction_drawing_hook import PredictionDrawingHook  # noqa: F401
from .resumed_schedule_check_hook import ResumedScheduleCheckHook  # noqa: F401
from .resumed_validation_hook import ResumedValidationHook  # noqa: F401
from .skipped_images_hook import SkippedImagesHook  # noqa: F401
from .start_checkpoint_check_hook import StartCheckpointCheckHook  # noqa: F401
from .swallowed_stop_hook import SwallowedStopHook  # noqa: F401
from .sync_norm_stats_hook import SyncNormStatsHook  # noqa: F401
from .track_ids_check_hook import TrackIdsCheckHook  # noqa: F401
