# Quickstart DLD in the efficiency setting: the student reads the teacher's HR
# crop down-sampled to the scale the selector picks (configs/dld_plate_hr.py),
# trained jointly on the quickstart set, distilled from the quickstart teacher.
_base_ = ['./dld.py']

train_dataloader = dict(dataset=dict(pipeline=_base_.hr_as_student_train_pipeline))
val_dataloader = dict(dataset=dict(load_hr=True, pipeline=_base_.hr_as_student_test_pipeline))
test_dataloader = dict(dataset=dict(load_hr=True, pipeline=_base_.hr_as_student_test_pipeline))

# The efficiency setting's FLOPs penalty (configs/dld_plate_hr.py), over the
# three larger scales: 189 steps cannot teach 0.5x and below (on this set the
# six scales left 0.5x at 0 % and dragged 1.0x down to 37 % of plates, against
# the teacher's 80 %; these three 67 %, and 0.8x 60 %). The full schedule
# teaches all six in 25 epochs (docs/results.md).
model = dict(scales=(1.0, 0.8, 0.6), losses=dict(selector=dict(gamma=0.3)))
