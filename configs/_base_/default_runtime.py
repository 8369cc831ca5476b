# Runtime shared by every DLD config: scope, hooks, logging, environment.
default_scope = 'dld'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # MMEngine's LoggerHook, whose JSON log of a test keeps the metrics' counts
    logger=dict(type='CountsKeptLoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # MMEngine's CheckpointHook plus atomic writes and checkpoints that load
    # with torch.load(weights_only=True) (dld/engine/hooks). 'auto' keeps the
    # best value of the first metric, which PlateRecogMetric makes plate
    # accuracy ('plate/accuracy', rule 'greater').
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Several processes: each keeps the BatchNorm statistics of the data it
    # read; they are averaged after each epoch, before the checkpoint is
    # saved, so validation scores the checkpoint on every process.
    sync_norm_stats=dict(type='SyncNormStatsHook'),
    # Reseeds python/numpy/torch with seed + epoch before each epoch, so a
    # resumed run draws the same dropout/augmentation as an unbroken one.
    epoch_seed=dict(type='EpochSeedHook'),
    # MMEngine saves an epoch's checkpoint before validating it; a run that
    # dies mid-validation validates that epoch again on --resume (the final
    # metrics and best checkpoint of the last epoch included).
    resumed_validation=dict(type='ResumedValidationHook'),
    # The LR schedule counts iterations: a run resumed with another number of
    # processes, batch size or training set stops before its first step.
    resumed_schedule=dict(type='ResumedScheduleCheckHook'),
    # What tools/train.py checks before a run, for a run started from Python
    # (Runner.from_cfg(cfg).train()): a selector stage given no load_from,
    # a load_from of another model, val_interval=0; before anything loads.
    start_checkpoint=dict(type='StartCheckpointCheckHook'),
    # An attention decoder emits at most max_seq_len - 1 characters; a longer
    # training label on disk stops the run before its first step, naming its
    # line, instead of being cut.
    label_length=dict(type='LabelLengthCheckHook'),
    # Each decoder builds its own dictionary: a training label one of them
    # cannot spell as written (a character it lacks, or lower case it would
    # upper-case) stops the run before its first step, naming its line.
    label_chars=dict(type='LabelCharsCheckHook'),
    # Two validation or test sets concatenated with the same track ids (ids
    # are relative to each set's root) stop the run before they are read,
    # where TrackAccuracyMetric would vote their frames as one plate.
    track_ids=dict(type='TrackIdsCheckHook'),
    # Each unreadable image is logged where it is read, in a worker; this
    # adds one warning per epoch with how many the epoch skipped in all.
    skipped_images=dict(type='SkippedImagesHook'),
    # A step that leaves a NaN or infinity in the loss or the weights stops
    # the run before a checkpoint holds it (and rotates a good one out).
    non_finite=dict(type='NonFiniteCheckHook'),
    # Each validation (test) logs its own metrics only: a key it leaves out
    # (track/confidence_wrong, no track being wrong) kept the last one's value.
    fresh_metrics=dict(type='FreshMetricsHook'),
    # Persistent workers are stopped when the run ends, not later by the
    # garbage collector in the middle of the next run in the process, which
    # waited 5 s for each of them (the quickstart's second run, a notebook).
    loader_workers=dict(type='LoaderWorkersStopHook'),
    # A Ctrl-C or SIGTERM that arrived as a loader forked its workers was
    # swallowed (printed as 'Exception ignored'): raised again before the
    # next step, so the run stops in one line, not on its killed workers.
    swallowed_stop=dict(type='SwallowedStopHook'),
    # A DLD run's frozen teacher reads the validation set once, before the
    # first step (HR frames): logged, warned of under 50 % of plates, and
    # set beside the student's at every validation (teacher/plate/accuracy).
    # A model without a teacher is left alone.
    teacher_accuracy=dict(type='TeacherAccuracyHook', min_accuracy=0.5),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to 'gloo' when a distributed run has no GPU.
    dist_cfg=dict(backend='nccl'),
)

# Logged training scalars are averaged over the window when they match
# `mean_pattern` and shown as the current value otherwise; DLD's diagnostics
# (selector_score, selector_flops, mean_scale, mean_rel_flops, and the share of
# images the teacher reads right under teacher_gate) are averaged too, so that
# loss_selector = selector_score + selector_flops holds in the log.
log_processor = dict(
    type='LogProcessor', window_size=50, by_epoch=True,
    mean_pattern=(r'.*(loss|time|data_time|grad_norm|selector_|mean_scale|mean_rel_flops'
                  r'|teacher_top1_right).*'))
log_level = 'INFO'

# No `name`: MMEngine then names the visualizer after the run (config and
# timestamp). A fixed name makes every later run in the same process (a
# notebook, a script that trains twice) reuse the first run's visualizer
# and write its scalars into the first run's folder.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

load_from = None
resume = False

randomness = dict(seed=42, deterministic=False)
