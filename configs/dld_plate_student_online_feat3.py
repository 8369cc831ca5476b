# The LR student stage on plates rendered when read
# (configs/dld_plate_student_online.py) with the feature L2 weighted 3x.
#
# Why: what the teacher knows of an LR plate that its ground truth does not
# say is in its features of the HR crop; with unlimited new plates the no-KD
# student closes in on the DLD student at the large scales
# (docs/results.md), so this asks whether a stronger pull towards the
# teacher's features keeps the lead. Measured as the third cycle, from the
# second: 64.47 % of test plates at 0.8x, the same as without.
_base_ = ['./dld_plate_student_online.py']

model = dict(losses=dict(feature=dict(loss_weight=3.0)))
