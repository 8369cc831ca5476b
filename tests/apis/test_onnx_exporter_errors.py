"""The exporter's own failures said in one line: a dependency too old for torch."""
import pytest
import torch

from dld.deploy import onnx_export


def _raise(err):
    def export(*args, **kwargs):
        raise err
    return export


def test_an_onnxscript_older_than_the_exporter_is_told_to_upgrade(monkeypatch, tmp_path):
    """onnxscript 0.2-0.5 under torch >= 2.11: a 40-line traceback ending in
    No module named 'onnxscript._framework_apis.torch_2_11'."""
    missing = ModuleNotFoundError("No module named 'onnxscript._framework_apis.torch_2_11'",
                                  name='onnxscript._framework_apis.torch_2_11')
    monkeypatch.setattr(torch.onnx, 'export', _raise(missing))
    with pytest.raises(onnx_export.ExportError, match=r"needs a newer onnxscript than the one "
                       r"installed \(.*no onnxscript._framework_apis.torch_2_11\): pip install "
                       r"-U 'onnxscript>=0.6'"):
        onnx_export._export(torch.nn.Identity(), (torch.zeros(1, 3),), str(tmp_path / 'a.onnx'),
                            ['x'], ['y'], 18)
    other = ModuleNotFoundError("No module named 'mine'", name='mine')
    monkeypatch.setattr(torch.onnx, 'export', _raise(other))
    with pytest.raises(ModuleNotFoundError, match='mine'):
        onnx_export._export(torch.nn.Identity(), (torch.zeros(1, 3),), str(tmp_path / 'a.onnx'),
                            ['x'], ['y'], 18)


class BrightGate(torch.nn.Module):
    """A part that runs a layer on bright images only (a researcher's gate)."""

    def forward(self, x):
        x = x.float()
        if x.mean() > 0.1:
            return x * 2
        return x


def test_a_part_branching_on_the_images_values_is_named_in_one_line(tmp_path, capfd):
    """torch.export refused it in some 250 lines of traceback, and a
    40-line dump of the graph from its shape logger (a researcher's journey)."""
    with pytest.raises(onnx_export.ExportError, match=r"the selector branches on the image's "
                       r'values \(at \S*test_onnx_exporter_errors\.py:\d+, in forward\) .*'
                       r'Write a branch with torch.where'):
        onnx_export._export(BrightGate().eval(), (torch.zeros(2, 3, dtype=torch.uint8),),
                            str(tmp_path / 'selector.onnx'), ['images'], ['logits'], 18,
                            'the selector')
    assert 'def forward' not in capfd.readouterr().err
