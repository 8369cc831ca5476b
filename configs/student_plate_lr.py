# The no-KD baseline: the DLD student's architecture trained on the LR frames
# alone (no teacher), with scale augmentation over the same candidate scales,
# so it can be compared with DLD at every scale and at equal FLOPs.
# For the fairest comparison start it, like the DLD student, from the teacher:
#   python tools/train.py configs/student_plate_lr.py \
#       --cfg-options load_from=work_dirs/teacher_plate_hr/best.pth
_base_ = [
    '_base_/models/recognizer_attn.py',
    '_base_/datasets/synth_plates.py',
    '_base_/schedules/schedule_adam_short.py',
    '_base_/default_runtime.py',
]

scales = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)
# Per-scale BatchNorm statistics, as the DLD student has (DLDDistiller's
# student_scale_norm). The two still differ by the teacher and by the scales
# per step: one random scale per batch here, two per image in DLD. That
# second difference is the whole LR lead (docs/results.md, the recipe control).
model = dict(train_scales=scales, scale_norm=dict(scales=scales, base_size=_base_.input_size))

lr_train_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_hr=False),
    dict(type='PlateRandomAffine', prob=0.5, keys=('img', )),
    dict(type='PlatePhotometricDistort', prob=0.8, keys=('img', )),
    dict(type='ResizePair', lr_size=_base_.input_size, hr_size=_base_.input_size),
    dict(type='PackPlateInputs', main_stream='lr'),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=lr_train_pipeline, load_hr=False))

# The DLD student's schedule (configs/dld_plate.py), so the two differ only
# by the teacher.
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type='OneCycleLR', eta_max=5e-4, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
