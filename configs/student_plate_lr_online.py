# The no-KD LR student's cycles on plates rendered when read, the data of
# the DLD student's cycles (configs/dld_plate_student_online.py). The two
# still differ in how they meet the scales: one random scale per batch here,
# two per image in DLD (the recipe control of docs/results.md measures that).
#
#   python tools/train.py configs/student_plate_lr_online.py \
#       --cfg-options load_from=work_dirs/student_plate_lr/best.pth \
#       train_dataloader.dataset.seed=1 \
#       train_cfg.max_epochs=5 train_cfg.val_interval=5 param_scheduler.0.end=5
_base_ = ['./student_plate_lr.py']

train_dataloader = dict(
    sampler=_base_.online_train_sampler,
    dataset=dict(_base_.online_train_dataset, _delete_=True,
                 with_hr=False,  # no teacher reads it
                 pipeline=_base_.lr_train_pipeline[1:]))
