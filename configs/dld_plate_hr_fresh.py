# One more student-stage cycle of configs/dld_plate_hr.py, on 7500 newly
# rendered training plates (seed 1) instead of the same 7500 once more.
#
# After four cycles on one set the student reads its own training plates far
# better than new ones (0.3x: 82.6 % of them against 67.3 % of new plates,
# docs/results.md): what it still learns there is those plates, not the small
# scales. Validation and test stay the standard splits.
#
#   python tools/train.py configs/dld_plate_hr_fresh.py \
#       --cfg-options load_from=work_dirs/dld_plate_hr_cycle4/best.pth
_base_ = ['./dld_plate_hr.py']

# Rendered on first use like synth_plates (dld.engine.launch.ensure_config_data);
# tracks render from (seed, split, index), so its training split does not
# depend on the val/test sizes, which are kept small since nothing reads them.
train_synth_plates = dict(_base_.synth_plates, data_root='data/synth_plates_seed1/', seed=1,
                          val_tracks=10, test_tracks=10)
train_dataloader = dict(dataset=dict(data_root=train_synth_plates['data_root']))
