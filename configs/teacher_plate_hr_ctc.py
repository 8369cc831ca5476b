# HR teacher with a CTC head, for configs/dld_plate_ctc.py. Its schedule is
# the attention teacher's; docs/results.md has no CTC figures. On the
# quickstart's 400 tracks (2026-12-05) it stayed at 0 % of plates for 4
# epochs, with or without augmentation: train it on the full set.
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
