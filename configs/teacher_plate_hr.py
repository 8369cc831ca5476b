# HR teacher: TextRecognizer with the attention decoder, trained and evaluated
# on the synthetic HR crops (48 x 144). DLD distils from this model.
#
#   python tools/train.py configs/teacher_plate_hr.py
#   python tools/test.py configs/teacher_plate_hr.py \
#       work_dirs/teacher_plate_hr/best_plate_accuracy_epoch_N.pth --out metrics.json
_base_ = [
    '_base_/models/recognizer_attn.py',
    '_base_/datasets/synth_plates.py',
    '_base_/schedules/schedule_adam_short.py',
    '_base_/default_runtime.py',
]

# HR in `inputs` (PackPlateInputs(main_stream='hr')); the LR frames are
# never read.
train_dataloader = _base_.hr_train_dataloader
val_dataloader = _base_.hr_val_dataloader
test_dataloader = _base_.hr_test_dataloader
