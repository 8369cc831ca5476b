# Student stage of the LR setting, after the joint run of configs/dld_plate.py:
# the selector is frozen and the student practises two scales per image drawn
# uniformly, as in the efficiency setting's configs/dld_plate_hr.py. The joint
# run's selector soon prefers 0.8x, so the student had practised the small
# scales little. One cycle of this stage lifted it from 40.9 % to 53.2 % of
# test plates at the selector's 0.8x, and from 3.5 % to 24.2 % at 0.4x; a
# second cycle, from the first, to 58.7 % and 35.6 % (docs/results.md;
# benchmarks/full_schedule.py runs two).
#
#   python tools/train.py configs/dld_plate.py
#   python tools/train.py configs/dld_plate_student.py \
#       --cfg-options load_from=work_dirs/dld_plate/best.pth
#   python tools/train.py configs/dld_plate_selector.py \
#       --cfg-options load_from=work_dirs/dld_plate_student/best.pth
_base_ = ['./dld_plate.py']

model = dict(train_selector=False)
# the joint run's checkpoint, as in the recipe above; without it the stage
# starts from the teacher's copy, as configs/dld_plate_hr.py does
load_from = None
max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type='OneCycleLR', eta_max=5e-4, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
