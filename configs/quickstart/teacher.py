# Quickstart teacher: the real HR teacher on a smaller synthetic set with a
# short schedule, so tools/quickstart.py finishes on 2 CPU cores.
_base_ = ['../teacher_plate_hr.py']

data_root = 'data/synth_plates_quick/'
synth_plates = dict(data_root=data_root, tracks=400, val_tracks=40, test_tracks=100)
train_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

# 16 epochs of 63 iterations: the full teacher's peak rate (1e-3), which left
# its plateau after ~400 iterations; at 2e-3 the quickstart teacher was still
# at 10 % of characters after 500.
max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [dict(type='OneCycleLR', eta_max=1e-3, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
