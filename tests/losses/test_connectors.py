import pytest
import torch

from dld.models.connectors import FeatureMapConnector, SequenceConnector


def test_feature_map_connector_projects_channels_and_resizes():
    connector = FeatureMapConnector(16, 32, with_bn=True)
    assert connector(torch.randn(2, 16, 3, 9), size=(6, 18)).shape == (2, 32, 6, 18)


def test_unlearned_feature_map_connector_only_resizes():
    connector = FeatureMapConnector(8, 8, learned=False)
    x = torch.randn(1, 8, 4, 4)
    assert list(connector.parameters()) == []
    assert torch.equal(connector(x), x)
    const = torch.ones(1, 8, 3, 3)
    torch.testing.assert_close(connector(const, (6, 7)), torch.ones(1, 8, 6, 7))
    with pytest.raises(ValueError, match='learned=True'):
        FeatureMapConnector(8, 16, learned=False)


def test_sequence_connector_projects_and_interpolates_time():
    connector = SequenceConnector(24, 48)
    assert connector(torch.randn(2, 10, 24), length=36).shape == (2, 36, 48)
    assert connector(torch.randn(2, 10, 24)).shape == (2, 10, 48)


def test_unlearned_sequence_connector_interpolates_linearly():
    connector = SequenceConnector(1, 1, learned=False)
    ramp = torch.arange(4.0).view(1, 4, 1)  # 0, 1, 2, 3
    out = connector(ramp, length=8)[0, :, 0]
    # half-pixel centres: inner samples lie halfway between neighbours
    torch.testing.assert_close(out[1:7], torch.tensor([0.25, 0.75, 1.25, 1.75, 2.25, 2.75]))



def test_padded_content_is_resized_as_if_cropped_and_the_padding_never_read():
    """ResizePair pads LR on the right (valid_ratio) and stretches HR: the
    student's content must land on the teacher's whole map."""
    content = torch.randn(2, 8, 3, 10, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.interpolate(content, size=(6, 36), mode='bilinear',
                                               align_corners=False)
    connector = FeatureMapConnector(8, 8, learned=False)
    for ratio in (0.5, 0.25):
        padded = torch.cat([content, torch.full((2, 8, 3, round(10 / ratio) - 10), 1e3)], 3)
        torch.testing.assert_close(
            connector(padded, (6, 36), content_ratio=torch.full((2, ), ratio)), expected)
    # Each image its own ratio: 10 of 40 columns, and 20 of 40.
    wide = torch.randn(1, 8, 3, 20, generator=torch.Generator().manual_seed(1))
    mixed = torch.full((2, 8, 3, 40), 1e3)
    mixed[0, ..., :10], mixed[1, ..., :20] = content[0], wide[0]
    out = connector(mixed, (6, 36), content_ratio=torch.tensor([0.25, 0.5]))
    torch.testing.assert_close(out[0], expected[0])
    torch.testing.assert_close(out[1:], torch.nn.functional.interpolate(
        wide, size=(6, 36), mode='bilinear', align_corners=False))
    # Whole maps (ratio 1, or none given) are resized as before.
    torch.testing.assert_close(connector(content, (6, 36), content_ratio=torch.ones(2)),
                               expected)

    steps = SequenceConnector(8, 8, learned=False)
    seq = content[:, :, 0].transpose(1, 2)  # (2, 10, 8)
    padded_seq = torch.cat([seq, torch.full((2, 30, 8), 1e3)], dim=1)
    torch.testing.assert_close(steps(padded_seq, 36, content_ratio=torch.full((2, ), 0.25)),
                               steps(seq, 36))


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_padded_content_under_autocast_never_reads_the_padding(dtype):
    """A grid built in half precision lands up to a third of a column off
    and reads the padding; it is built in float32 whatever the features."""
    content = torch.randn(2, 8, 3, 10, generator=torch.Generator().manual_seed(0))
    padded = torch.cat([content, torch.full((2, 8, 3, 30), 1e3)], dim=3).to(dtype)
    expected = torch.nn.functional.interpolate(content, size=(6, 36), mode='bilinear',
                                               align_corners=False)
    with torch.autocast('cpu', dtype=dtype):
        out = FeatureMapConnector(8, 8, learned=False)(padded, (6, 36), torch.full((2, ), 0.25))
        steps = SequenceConnector(8, 8, learned=False)(padded[:, :, 0].transpose(1, 2), 36,
                                                       torch.full((2, ), 0.25))
    assert out.dtype == steps.dtype == dtype
    torch.testing.assert_close(out.float(), expected, atol=0.02, rtol=0.02)
    torch.testing.assert_close(steps.float(), expected[:, :, 0].transpose(1, 2),
                               atol=0.02, rtol=0.02)


def test_content_resize_keeps_float64_and_its_gradient_is_exact():
    from dld.models.connectors import resize_content
    x = torch.randn(2, 3, 4, 10, dtype=torch.float64, requires_grad=True)
    ratio = torch.tensor([0.5, 0.8])
    assert resize_content(x, (5, 12), ratio).dtype == torch.float64
    assert torch.autograd.gradcheck(lambda t: resize_content(t, (5, 12), ratio), (x, ))
