# DLD in the paper's efficiency setting: the student reads the teacher's own
# HR crop, down-sampled to the scale the selector picks, so every saved FLOP
# is a real saving at no loss of input information.
#
#   python tools/train.py configs/teacher_plate_hr.py
#   python tools/train.py configs/dld_plate_hr.py
_base_ = ['./dld_plate.py']

hr_as_student_train_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_lr=False, with_hr=True),
    dict(type='PlateRandomAffine', prob=0.5, keys=('img_hr', )),
    dict(type='PlatePhotometricDistort', prob=0.8, keys=('img_hr', )),
    dict(type='CopyHRToLR'),  # after augmentation: both read the same crop
    dict(type='ResizePair', lr_size=_base_.input_size, hr_size=_base_.input_size),
    dict(type='PackPlateInputs', main_stream='lr'),
]
hr_as_student_test_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_lr=False, with_hr=True),
    dict(type='CopyHRToLR'),
    dict(type='ResizePair', lr_size=_base_.input_size, hr_size=_base_.input_size),
    dict(type='PackPlateInputs', main_stream='lr'),
]
train_dataloader = dict(dataset=dict(pipeline=hr_as_student_train_pipeline))
val_dataloader = dict(dataset=dict(load_hr=True, pipeline=hr_as_student_test_pipeline))
test_dataloader = dict(dataset=dict(load_hr=True, pipeline=hr_as_student_test_pipeline))

# The paper's stronger FLOPs penalty (its -70 % FLOPs operating point): the
# target here is <= 30 % of the teacher's FLOPs within 0.5 pt of its accuracy.
model = dict(losses=dict(selector=dict(gamma=0.3)))
