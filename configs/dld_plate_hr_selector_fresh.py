# The selector stage of configs/dld_plate_hr_selector.py, learning from
# plates the student has never read (seed 2) instead of its training plates.
#
# The selector learns where the student misreads; on its own training plates
# the student misreads far less than on new ones (0.4x: 1.7 % against 6.4 %
# after four cycles, docs/results.md), so a selector taught there expects too
# much of the small scales.
#
#   python tools/train.py configs/dld_plate_hr_selector_fresh.py \
#       --cfg-options load_from=work_dirs/dld_plate_hr_fresh/best.pth
_base_ = ['./dld_plate_hr_selector.py']

train_synth_plates = dict(_base_.synth_plates, data_root='data/synth_plates_seed2/', seed=2,
                          val_tracks=10, test_tracks=10)
train_dataloader = dict(dataset=dict(data_root=train_synth_plates['data_root']))
