# CTC recogniser: the attention recogniser's backbone and encoder
# (ResNetPlate -> TransformerEncoder, total stride (8, 4): T = W / 4) with a
# CTCDecoder. A student config shrinks `model.backbone.widths` and the
# encoder's `d_model` (encoder/decoder `in_channels` follow automatically).
_base_ = ['./recognizer_attn.py']

model = dict(
    decoder=dict(
        _delete_=True,
        type='CTCDecoder',
        dictionary=dict(type='Dictionary', with_blank=True),
        module_loss=dict(type='CTCModuleLoss', reduction='mean', zero_infinity=True),
        postprocessor=dict(type='CTCPostProcessor'),
        dropout=0.1,
    ),
    # decode: 'greedy' | 'beam'; topk > 1 (beam only) fills pred_topk.
    test_cfg=dict(decode='greedy', beam_width=10, topk=1),
)
