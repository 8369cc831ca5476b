# DLD in the efficiency setting with a MobileNetV2-style student, on the
# quickstart set, distilled from the quickstart teacher: run it after
# `python tools/quickstart.py`, from the repository root:
#
#   python tools/train.py projects/mobile_student/configs/dld_efficiency_mobile_quick.py
#
# Everything new comes from this project's package (custom_imports); the rest
# is configs/quickstart/dld_efficiency.py. The student cannot start from the
# teacher's weights (other shapes), so it trains longer (24 epochs instead
# of 3, about 22 min on 2 idle cores), at the teacher's peak rate
# (projects/mobile_student/README.md).
_base_ = ['../../../configs/quickstart/dld_efficiency.py']

custom_imports = dict(imports=['projects.mobile_student.mobile_student'],
                      allow_failed_imports=False)

model = dict(
    student=dict(
        backbone=dict(_delete_=True, type='MobilePlateNet', widths=(24, 48, 96, 128),
                      depths=(1, 2, 2, 1), expand_ratio=4),
        encoder=dict(d_model=128),
        decoder=dict(d_model=128)),
    losses=dict(feature=dict(_delete_=True, type='CosineFeatureLoss', loss_weight=1.0)))

# configs/_base_/datasets/synth_plates.py's efficiency-setting pipeline with
# the occlusion added on the HR crop before the student's copy is taken, so
# teacher and student lose the same part of the plate.
train_pipeline = [
    dict(type='LoadPlateImages', color_type='color', with_lr=False, with_hr=True),
    dict(type='PlateRandomAffine', prob=0.5, keys=('img_hr', )),
    dict(type='PlatePhotometricDistort', prob=0.8, keys=('img_hr', )),
    dict(type='RandomPlateOcclusion', prob=0.3, keys=('img_hr', )),
    dict(type='CopyHRToLR'),
    dict(type='ResizePair', lr_size=(48, 144), hr_size=(48, 144), lr_keep_ratio=False),
    dict(type='PackPlateInputs', main_stream='lr'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=6)
param_scheduler = [dict(type='OneCycleLR', eta_max=1e-3, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
