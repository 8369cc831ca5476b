# The efficiency setting's student stage (configs/dld_plate_hr.py) on plates
# rendered when read: every epoch 7500 new ones (OnlineSynthPlateDataset +
# EpochOffsetSampler) instead of the same 7500 from disk.
#
# Why: after four cycles on one set the student read its own training plates
# at 0.3x 15 pt better than new ones, and a fifth cycle on newly rendered
# plates gained twice what the same cycle on the old plates did
# (docs/results.md). Here no plate is read twice. Validation and test stay
# the rendered splits, whose plates are never drawn.
#
#   python tools/train.py configs/dld_plate_hr_online.py \
#       --cfg-options train_dataloader.dataset.seed=1   # a seed per cycle
_base_ = ['./dld_plate_hr.py']

train_dataloader = dict(
    sampler=_base_.online_train_sampler,
    dataset=dict(_base_.online_train_dataset, _delete_=True,
                 # The student reads the HR crop: no LR frame to render.
                 with_lr=False,
                 pipeline=_base_.hr_as_student_train_pipeline[1:]))
