"""Which device inference and reports run on, and a device the machine lacks."""
import pytest
import torch
from attention_dld import make_attention_dld

from dld.apis import PlateRecognizer
from dld.apis.model_loading import resolve_device


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    return make_attention_dld(str(tmp_path_factory.mktemp('devices')))


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)


@pytest.mark.parametrize('device', ['cuda', 'cuda:0'])
def test_a_cuda_device_the_machine_lacks_is_refused_with_a_message(model_files, no_cuda,
                                                                   device):
    with pytest.raises(ValueError, match='no CUDA device here'):
        PlateRecognizer(model_files['config'], model_files['checkpoint'], device=device)


def test_a_cuda_index_beyond_the_machines_devices_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    with pytest.raises(ValueError, match='2 CUDA device'):
        resolve_device('cuda:2')
    assert resolve_device('cuda:1') == torch.device('cuda:1')


def test_a_device_name_that_is_no_device_is_a_value_error():
    with pytest.raises(ValueError, match='not a device'):
        resolve_device('cdua')


@pytest.mark.skipif(torch.backends.mps.is_available(), reason='this machine has MPS')
def test_an_accelerator_the_machine_lacks_and_the_meta_device_are_value_errors():
    with pytest.raises(ValueError, match="device 'mps' is not available here") as info:
        resolve_device('mps')
    assert '\n' not in str(info.value)  # one line, not torch's list of every backend
    with pytest.raises(ValueError, match='holds no data'):
        resolve_device('meta')
    assert resolve_device('cpu:0') == torch.device('cpu:0')


def test_without_cuda_the_default_is_the_cpu_whatever_else_mmengine_finds(
        model_files, no_cuda, monkeypatch):
    """docs/inference.md: default CUDA when available; MMEngine's own default
    would take any accelerator it finds (here a pretended Apple GPU)."""
    import mmengine.infer.infer as mmengine_infer
    monkeypatch.setattr(mmengine_infer, 'get_device', lambda: 'mps')
    rec = PlateRecognizer(model_files['config'], model_files['checkpoint'])
    assert next(rec.model.parameters()).device == torch.device('cpu')
    assert rec.device_type == 'cpu'
