# DLD with a CTC head (references 001/002: ResNet + Transformer + CTC; here
# the encoder has no self-attention layer, num_layers=0, as the attention
# configs) on the synthetic paired plates. No decoder hidden states: the
# feature loss uses the backbone and encoder levels only. Train its teacher with
#   python tools/train.py configs/teacher_plate_hr_ctc.py
_base_ = [
    '_base_/models/dld_ctc.py',
    '_base_/datasets/synth_plates.py',
    '_base_/schedules/schedule_adam_short.py',
    '_base_/default_runtime.py',
]

model = dict(teacher_ckpt='work_dirs/teacher_plate_hr_ctc')
train_dataloader = dict(batch_size=32)
