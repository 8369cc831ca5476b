# Quickstart teacher: the real HR teacher on a smaller synthetic set with a
# short schedule, so tools/quickstart.py finishes on 2 CPU cores.
_base_ = ['../teacher_plate_hr.py']

data_root = 'data/synth_plates_quick/'
synth_plates = dict(data_root=data_root, tracks=400, val_tracks=40, test_tracks=100)
train_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [dict(type='OneCycleLR', eta_max=2e-3, pct_start=0.15, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
