# DLD on the synthetic paired plates (attention decoder; the paper's setting):
# the student reads the real-LR-style frames, the frozen teacher the HR ones.
#
#   python tools/train.py configs/teacher_plate_hr.py
#   python tools/train.py configs/dld_plate.py \
#       --cfg-options model.teacher_ckpt=work_dirs/teacher_plate_hr/best_plate_accuracy_epoch_20.pth
_base_ = [
    '_base_/models/dld_attn.py',
    '_base_/datasets/synth_plates.py',
    '_base_/schedules/schedule_adam_short.py',
    '_base_/default_runtime.py',
]

# The teacher's work dir: its single best_*.pth (else its last checkpoint) is used.
model = dict(teacher_ckpt='work_dirs/teacher_plate_hr')

# DLD's train pipeline loads LR for the student and HR for the teacher.
train_dataloader = dict(batch_size=32)
