# Quickstart DLD: the real DLD model ('sampled' scales: 2 student forwards per
# image) on the quickstart set, distilled from the quickstart teacher.
_base_ = ['../dld_plate.py']

data_root = 'data/synth_plates_quick/'
synth_plates = dict(data_root=data_root, tracks=400, val_tracks=40, test_tracks=100)
# Loading in the main process: on 2 cores, loader workers take CPU from the
# step (1.66 s a step without workers, 1.81 s with two, 2026-12-02).
train_dataloader = dict(batch_size=32, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

model = dict(teacher_ckpt='work_dirs/quickstart/teacher', scale_strategy='sampled')
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
param_scheduler = [dict(type='OneCycleLR', eta_max=5e-4, pct_start=0.15, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
