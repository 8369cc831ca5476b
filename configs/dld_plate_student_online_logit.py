# The LR student stage on plates rendered when read
# (configs/dld_plate_student_online.py) with per-step logit KD on top of the
# sequence KD and the feature L2: KL(teacher || student) of each decoding
# step's distribution, the teacher reading HR and the student LR.
#
# Why: after three cycles the DLD student's lead over the no-KD student
# narrowed at the large scales (+5.9, +4.8, +4.6 pt at 0.8x). SKD passes on
# the teacher's top beams only; the per-step distributions carry what it
# thinks of every other character too. Measured as the third cycle, from the
# second: 64.60 % of test plates at 0.8x against 64.47 % without, within
# noise (docs/results.md).
_base_ = ['./dld_plate_student_online.py']

model = dict(losses=dict(logit=dict(type='KLDivLoss', temperature=1.0, loss_weight=1.0)))
