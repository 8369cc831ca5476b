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
