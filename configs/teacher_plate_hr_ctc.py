# HR teacher with a CTC head, for configs/dld_plate_ctc.py. Its schedule is
# the attention teacher's (6 epochs of the full set); docs/results.md has no
# CTC figures. On the quickstart's 400 tracks (2026-12-05) a 4-epoch
# one-cycle schedule ended on CTC's early plateau (0 % of validation plates,
# 23 % of characters); a 12-epoch one read 47.5 % after 4 epochs, 97.5 %
# after 8 and 100 % after 12 (6.5 min on 2 cores): on a small set, train it
# longer, e.g. --cfg-options train_cfg.max_epochs=12 param_scheduler.0.end=12.
_base_ = ['./teacher_plate_hr.py']

model = dict(
    decoder=dict(
        _delete_=True,
        type='CTCDecoder',
        dictionary=dict(type='Dictionary', with_blank=True),
        module_loss=dict(type='CTCModuleLoss', reduction='mean', zero_infinity=True),
        postprocessor=dict(type='CTCPostProcessor'),
        dropout=0.1),
    test_cfg=dict(decode='greedy', beam_width=10, topk=1))
