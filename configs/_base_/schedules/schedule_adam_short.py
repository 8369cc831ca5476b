# Short schedule: AdamW with a one-cycle learning rate, updated every
# iteration; validation every epoch.
max_epochs = 20
base_lr = 1e-3

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), weight_decay=1e-2),
    clip_grad=dict(max_norm=5.0))

param_scheduler = [
    dict(
        type='OneCycleLR',
        eta_max=base_lr,
        pct_start=0.1,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# `tools/train.py --auto-scale-lr` scales lr by (GPUs x batch size) / this:
# the batch size the shipped configs' learning rates were tuned at (one
# process, 32), so that the flag changes nothing on the documented commands.
auto_scale_lr = dict(enable=False, base_batch_size=32)
