"""TextRecognizer scale augmentation (the fair no-KD baseline)."""
import torch

from dld.registry import MODELS
from dld.structures import PlateDataSample


def test_train_scales_resize_each_training_batch_to_a_candidate_scale():
    cfg = dict(
        type='TextRecognizer',
        backbone=dict(type='ResNetPlate', widths=(8, 8, 16, 16)),
        encoder=dict(type='BiLSTMEncoder', hidden_size=16),
        decoder=dict(type='CTCDecoder'),
        train_scales=(0.5, 0.3))
    model = MODELS.build(cfg)
    seen = []
    model.backbone.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[-2:]))
    samples = [PlateDataSample(gt_text='AB1') for _ in range(2)]
    torch.manual_seed(0)
    for _ in range(12):
        model(torch.randn(2, 3, 48, 144), samples, mode='loss')
    assert set(seen) == {torch.Size([24, 72]), torch.Size([14, 43])}
    seen.clear()
    model.eval()
    model(torch.randn(2, 3, 48, 144), samples, mode='predict')
    assert seen == [torch.Size([48, 144])]  # prediction reads what it is given
