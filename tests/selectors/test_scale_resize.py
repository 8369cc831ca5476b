import torch
import torch.nn.functional as F

from dld.models.selectors import resize_to_scale
from dld.utils import scale_input_shapes

SCALES = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)


def test_scale_shapes_round_each_side_of_the_base_size():
    assert scale_input_shapes((48, 144), SCALES) == [(48, 144), (38, 115), (29, 86), (24, 72),
                                                     (19, 58), (14, 43)]
    assert scale_input_shapes((2, 3), [0.01]) == [(1, 1)]


def test_resize_matches_the_shapes_used_for_flops():
    x = torch.randn(2, 3, 48, 144)
    for scale, hw in zip(SCALES, scale_input_shapes((48, 144), SCALES)):
        assert tuple(resize_to_scale(x, scale).shape[-2:]) == hw


def test_resize_is_antialiased_bilinear_and_identity_at_full_scale():
    x = torch.randn(1, 3, 48, 144)
    assert resize_to_scale(x, 1.0) is x
    expected = F.interpolate(x, size=(24, 72), mode='bilinear', align_corners=False,
                             antialias=True)
    torch.testing.assert_close(resize_to_scale(x, 0.5), expected)


def test_base_size_overrides_the_input_size():
    x = torch.randn(1, 1, 20, 60)
    assert resize_to_scale(x, 0.5, base_hw=(48, 144)).shape == (1, 1, 24, 72)
