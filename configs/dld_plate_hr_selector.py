# Selector stage after configs/dld_plate_hr.py (efficiency setting): the
# stage of configs/dld_plate_selector.py on dld_plate_hr.py's data and gamma.
#
#   python tools/train.py configs/dld_plate_hr_selector.py \
#       --cfg-options load_from=work_dirs/dld_plate_hr/last.pth
_base_ = ['./dld_plate_selector.py']

train_dataloader = dict(dataset=dict(pipeline=_base_.hr_as_student_train_pipeline))
val_dataloader = dict(dataset=dict(load_hr=True, pipeline=_base_.hr_as_student_test_pipeline))
test_dataloader = dict(dataset=dict(load_hr=True, pipeline=_base_.hr_as_student_test_pipeline))
model = dict(losses=dict(selector=dict(gamma=0.3)))
