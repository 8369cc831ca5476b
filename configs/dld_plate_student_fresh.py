# One more student-stage cycle of configs/dld_plate_student.py (LR setting),
# on 7500 newly rendered training plates (seed 1), as in the efficiency
# setting (configs/dld_plate_hr_fresh.py): after the joint run and two cycles
# the student read 68.3 % of its training plates at 0.8x but 59.7 % of new
# ones (docs/results.md). Validation and test stay the standard splits.
#
#   python tools/train.py configs/dld_plate_student_fresh.py \
#       --cfg-options load_from=work_dirs/dld_plate_student_cycle2/best.pth
_base_ = ['./dld_plate_student.py']

train_synth_plates = dict(_base_.synth_plates, data_root='data/synth_plates_seed1/', seed=1,
                          val_tracks=10, test_tracks=10)
train_dataloader = dict(dataset=dict(data_root=train_synth_plates['data_root']))
