# CTC recogniser: ResNetPlate -> TransformerEncoder -> CTCDecoder.
# Teacher widths; a student config shrinks `model.backbone.widths` and the
# encoder's `d_model` (encoder/decoder `in_channels` follow automatically).
model = dict(
    type='TextRecognizer',
    data_preprocessor=dict(type='PlateDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(
        type='ResNetPlate',
        in_channels=3,
        widths=(32, 64, 128, 256),
        depths=(1, 1, 1, 1),
        strides=((2, 2), (2, 2), (2, 1), (1, 1)),  # total (8, 4): T = W / 4
    ),
    encoder=dict(
        type='TransformerEncoder',
        d_model=256,
        num_layers=2,
        num_heads=4,
        dropout=0.1,
        pooling='avg',
    ),
    decoder=dict(
        type='CTCDecoder',
        dictionary=dict(type='Dictionary', with_blank=True),
        module_loss=dict(type='CTCModuleLoss', reduction='mean', zero_infinity=True),
        postprocessor=dict(type='CTCPostProcessor'),
        dropout=0.1,
    ),
    # decode: 'greedy' | 'beam'; topk > 1 (beam only) fills pred_topk.
    test_cfg=dict(decode='greedy', beam_width=10, topk=1),
)
