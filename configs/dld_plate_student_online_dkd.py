# The LR student stage on plates rendered when read
# (configs/dld_plate_student_online.py) with decoupled KD (DKD) per decoding
# step on top of the sequence KD and the feature L2.
#
# Why: the recipe control (docs/results.md) found that the teacher's losses
# add nothing in the LR setting. The teacher reads HR at 99 %, so its beams
# are the ground truth and its per-step distributions almost one-hot: plain
# KL (configs/dld_plate_student_online_logit.py) passes on little else. DKD
# weighs the non-target classes on their own (beta), which is where a
# confident teacher keeps what it knows of look-alike characters (8/B, 0/D).
# Measured as the third cycle, from the second: 61.53 % of test plates at 0.8x
# against 64.47 % without, fewer at every scale (docs/results.md): what the
# teacher knows of sharp crops does not help read blurred ones.
_base_ = ['./dld_plate_student_online.py']

model = dict(losses=dict(logit=dict(type='DKDLoss', alpha=1.0, beta=8.0, temperature=4.0,
                                    loss_weight=1.0)))
