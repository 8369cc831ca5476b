# DLD around the CTC recogniser: frozen HR teacher and LR student of the
# same architecture (the paper's resolution-distillation setting).
_base_ = ['./recognizer_ctc.py', './dld_distiller.py']

model = dict(
    _delete_=True,
    data_preprocessor=_base_.model.data_preprocessor,
    teacher=dict(_base_.model, data_preprocessor=None),
    student=dict(_base_.model, data_preprocessor=None),
    **_base_.dld_distiller)
