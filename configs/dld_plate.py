# DLD on the synthetic paired plates (attention decoder; the paper's setting):
# the student reads the real-LR-style frames, the frozen teacher the HR ones.
#
#   python tools/train.py configs/teacher_plate_hr.py
#   python tools/train.py configs/dld_plate.py \
#       --cfg-options model.teacher_ckpt=work_dirs/teacher_plate_hr/best.pth
_base_ = [
    '_base_/models/dld_attn.py',
    '_base_/datasets/synth_plates.py',
    '_base_/schedules/schedule_adam_short.py',
    '_base_/default_runtime.py',
]

model = dict(
    # The teacher's work dir: its single best_*.pth (else its last checkpoint) is used.
    teacher_ckpt='work_dirs/teacher_plate_hr',
    scale_strategy='sampled')  # 2 student forwards per image; 'all' runs 6

# DLD's train pipeline loads LR for the student and HR for the teacher.
train_dataloader = dict(batch_size=32)

# The student starts from the teacher's weights, so a short, gentle schedule
# suffices: 3 epochs of 7500 pairs (docs/results.md).
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type='OneCycleLR', eta_max=5e-4, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
