# KD at one fixed scale, no selector: the student always reads the LR input
# at `fixed_scale` of 48x144 and learns from the teacher by SKD and feature L2.
_base_ = ['./dld_plate.py']

model = dict(selector=None, fixed_scale=0.5, losses=dict(selector=None))
custom_hooks = []  # no selector, no Gumbel temperature
