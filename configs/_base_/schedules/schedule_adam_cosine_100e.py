# Long schedule: AdamW, linear warm-up over the first epoch, then cosine decay
# to 1% of the base rate; validation every 5 epochs.
max_epochs = 100
base_lr = 1e-3

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=5e-2),
    clip_grad=dict(max_norm=5.0))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=base_lr * 1e-2,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# `tools/train.py --auto-scale-lr` scales lr by (GPUs x batch size) / this: the
# datasets' batch size (one process, 32), as schedule_adam_short.py's.
auto_scale_lr = dict(enable=False, base_batch_size=32)
