# Fine-tuning a trained DLD model (student + selector) on a small set of your
# own camera's crops (paired label format, docs/datasets.md), distilled from
# the same teacher: docs/get_started.md, "Fine-tuning on your own data".
#
#   python tools/train.py configs/dld_plate_finetune.py \
#       --cfg-options load_from=work_dirs/dld_plate/best.pth
#   python tools/flops_accuracy.py configs/dld_plate_finetune.py \
#       work_dirs/dld_plate_finetune/best.pth --out report_ft/ \
#       --baseline-ckpt work_dirs/dld_plate/best.pth --baseline-name 'Before fine-tuning'
# A copy elsewhere (my_configs/dld_finetune.py) names its base from there:
# _base_ = ['../configs/dld_plate.py']
_base_ = ['./dld_plate.py']

# Your crops (train.txt, val.txt, test.txt under it); no synthetic set to
# render (the inherited one would be, were a loader left reading it).
my_data = 'data/my_plates/'
synth_plates = None
train_dataloader = dict(dataset=dict(data_root=my_data))
val_dataloader = dict(dataset=dict(data_root=my_data))
test_dataloader = dict(dataset=dict(data_root=my_data))

# The weights to start from: a DLD checkpoint of this architecture, scales,
# base size and dictionary (refused in one line otherwise). load_from, not
# --resume: the optimiser, the LR schedule and the epoch count start afresh.
load_from = 'work_dirs/dld_plate/best.pth'
# The teacher the model was distilled from (kept over the checkpoint's copy).
model = dict(teacher_ckpt='work_dirs/teacher_plate_hr')

# A short, gentle schedule: a tenth of the peak rate of the joint run, which
# a few hundred tracks read for a few epochs would otherwise pull far from
# what it learnt.
max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [dict(type='OneCycleLR', eta_max=5e-5, pct_start=0.1, by_epoch=True,
                        begin=0, end=max_epochs, convert_to_iter_based=True)]
# The selector is trained already: start its Gumbel samples near its own
# choices (the joint run's 5.0 makes them nearly uniform again).
custom_hooks = [
    dict(type='GumbelTemperatureHook', start=1.0, end=0.5, schedule='exp', by_epoch=False),
    dict(type='SelectorCollapseHook', max_share=0.99, patience=2),
]

# Optional, see the docs section:
# keep the selector as trained (the student stage: scales drawn per image)
#   model = dict(train_selector=False, student_stage_scales='selector')
# freeze the student's backbone (its BatchNorm statistics still follow the new data)
#   optim_wrapper = dict(paramwise_cfg=dict(
#       custom_keys={'student.backbone': dict(lr_mult=0.0, decay_mult=0.0)}))
