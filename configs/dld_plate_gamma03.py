# DLD with a stronger FLOPs penalty (gamma = 0.3; dld_plate.py uses 0.1): the
# paper reports both. Larger gamma -> smaller scales, fewer FLOPs.
_base_ = ['./dld_plate.py']

model = dict(losses=dict(selector=dict(gamma=0.3)))
