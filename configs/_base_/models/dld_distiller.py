# DLDDistiller knobs shared by every DLD config; `teacher` and `student` come
# from a recogniser base (see dld_attn.py / dld_ctc.py).
dld_distiller = dict(
    type='DLDDistiller',
    teacher_ckpt=None,
    init_student_from_teacher=True,
    teacher_norm_eval=True,
    selector=dict(type='ResolutionSelector', thumb_size=(16, 48), channels=(8, 16, 32)),
    scales=(1.0, 0.8, 0.6, 0.5, 0.4, 0.3),
    base_size=(48, 144),
    # 'all': the student runs at every scale (the paper; k forwards per image);
    # 'sampled': the selected scale plus one random (2 forwards per image).
    scale_strategy='all',
    selector_score='kl',   # 'gt_nll': the public code's CE to the ground truth
    selector_decisions='gumbel',  # 'expected': exact softmax expectation (needs 'all')
    cost='flops',          # 'scale_pow': the public code's s ** 1.5
    skd_topk=3,
    skd_beam_width=5,
    student_scale_weighting='uniform',
    losses=dict(
        skd=dict(type='SequenceKDLoss', weighting='score', loss_weight=1.0),
        feature=dict(type='FeatureDistanceLoss', mode='l2', loss_weight=1.0),
        selector=dict(type='ResolutionSelectorLoss', gamma=0.1, loss_weight=1.0),
    ),
    feature_levels=dict(backbone=1.0, encoder=1.0, decoder=1.0),
)

custom_hooks = [
    dict(type='GumbelTemperatureHook', start=5.0, end=0.5, schedule='exp', by_epoch=False),
    # warns when the selector sends every validation image to one scale
    dict(type='SelectorCollapseHook', max_share=0.99, patience=2),
]
