# HR teacher: TextRecognizer with the attention decoder, trained and evaluated
# on the synthetic HR crops (48 x 144). DLD distils from this model.
#
#   python tools/train.py configs/teacher_plate_hr.py
#   python tools/test.py configs/teacher_plate_hr.py \
#       work_dirs/teacher_plate_hr/best.pth --out metrics.json
_base_ = [
    '_base_/models/recognizer_attn.py',
    '_base_/datasets/synth_plates.py',
    '_base_/schedules/schedule_adam_short.py',
    '_base_/default_runtime.py',
]

# HR in `inputs` (PackPlateInputs(main_stream='hr')); the LR frames are
# never read.
train_dataloader = dict(_base_.hr_train_dataloader, batch_size=32)
val_dataloader = _base_.hr_val_dataloader
test_dataloader = _base_.hr_test_dataloader

# 6 epochs of 7500 crops (~1400 iterations at batch 32) reach the teacher of
# docs/results.md in ~15 min on 2 CPU cores.
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [dict(type='OneCycleLR', eta_max=_base_.base_lr, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
