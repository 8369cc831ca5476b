# Selector stage after configs/dld_plate.py (LR setting): the trained student
# is frozen in eval mode and only the selector learns, from the KL the deployed
# (eval-mode) student really has at each scale. The student runs at every
# scale without gradients, so a step costs little more than the teacher's.
#
#   python tools/train.py configs/dld_plate_selector.py \
#       --cfg-options load_from=work_dirs/dld_plate/best.pth
_base_ = ['./dld_plate.py']

#
# Every scale's score is known here, so the selector minimises the exact
# expected cost under its softmax ('expected', no Gumbel noise), and a scale
# costs what accuracy counts: 1 where the student's reading differs from the
# teacher's ('top1_miss'), not the KL, which also charges right but less
# confident readings. Measured on the efficiency setting's 5-epoch student
# (docs/results.md): KL + Gumbel 97.00 % of plates at 0.209 GFLOPs, KL +
# expected 96.13 % at 0.195, top1_miss + expected 97.13 % at 0.156.
#
# The student's losses stay configured though none is computed (the student is
# frozen): so the connectors of the feature loss are loaded and saved with the
# selector, and a later student stage can start from this checkpoint.
model = dict(train_student=False, scale_strategy='all', selector_decisions='expected',
             selector_score='top1_miss')
load_from = None  # the DLD checkpoint to start from (required)

max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [dict(type='OneCycleLR', eta_max=1e-3, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
custom_hooks = [
    dict(type='GumbelTemperatureHook', start=2.0, end=0.3, schedule='exp', by_epoch=False),
    dict(type='SelectorCollapseHook', max_share=0.99, patience=1),  # one validation
]
