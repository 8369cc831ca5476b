# Attention recogniser: ResNetPlate -> TransformerEncoder -> AttentionDecoder.
# `decoder.cell` may be 'transformer', 'gru' or 'lstm'.
model = dict(
    type='TextRecognizer',
    data_preprocessor=dict(type='PlateDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    backbone=dict(
        type='ResNetPlate',
        in_channels=3,
        widths=(32, 64, 128, 256),
        depths=(1, 1, 1, 1),
        strides=((2, 2), (2, 2), (2, 1), (1, 1)),
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
        type='AttentionDecoder',
        cell='transformer',
        d_model=256,
        num_layers=2,
        num_heads=4,
        dropout=0.1,
        max_seq_len=8,  # 7 plate characters + EOS
        dictionary=dict(type='Dictionary', with_start_end=True, with_padding=True),
        module_loss=dict(type='CEModuleLoss', reduction='mean', label_smoothing=0.0),
        postprocessor=dict(type='AttentionPostProcessor'),
    ),
    test_cfg=dict(decode='greedy', beam_width=5, topk=1),
)
