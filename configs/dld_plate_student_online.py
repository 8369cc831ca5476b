# The LR setting's student stage (configs/dld_plate_student.py) on plates
# rendered when read, as configs/dld_plate_hr_online.py does for the
# efficiency setting: every epoch 7500 new LR/HR pairs instead of the same
# 7500 from disk. There, after three cycles, this read 5.9 pt more test plates
# at 0.3x than the plates on disk (docs/results.md).
#
#   python tools/train.py configs/dld_plate_student_online.py \
#       --cfg-options load_from=work_dirs/dld_plate/best.pth \
#       train_dataloader.dataset.seed=1   # a seed per cycle
_base_ = ['./dld_plate_student.py']

train_dataloader = dict(
    sampler=_base_.online_train_sampler,
    dataset=dict(_base_.online_train_dataset, _delete_=True,
                 pipeline=_base_.train_pipeline[1:]))
