# The no-KD LR student on the newly rendered plates (seed 1) that the DLD
# student's last cycle reads (configs/dld_plate_student_fresh.py), so that the
# baseline gets the same data as well as the same schedule.
#
#   python tools/train.py configs/student_plate_lr_fresh.py \
#       --cfg-options load_from=work_dirs/student_plate_lr_cycle3/best.pth \
#       train_cfg.max_epochs=5 train_cfg.val_interval=5 param_scheduler.0.end=5
_base_ = ['./student_plate_lr.py']

train_synth_plates = dict(_base_.synth_plates, data_root='data/synth_plates_seed1/', seed=1,
                          val_tracks=10, test_tracks=10)
train_dataloader = dict(dataset=dict(data_root=train_synth_plates['data_root']))
