"""PlateRecognizer as a service meets it: request bytes, tensors by mistake,
a missing checkpoint path, a drawing that cannot be written, crops of one
vehicle to vote. The model is a tiny untrained DLD: what matters is that
each input gets the reading the same image gets otherwise."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from tiny_dld import dld_config

from dld.apis import PlateRecognizer, expand_inputs


@pytest.fixture(scope='module')
def cfg(tmp_path_factory):
    return Config(dld_config(str(tmp_path_factory.mktemp('no_data'))))


@pytest.fixture(scope='module')
def reader(cfg):
    return PlateRecognizer(cfg, None, device='cpu', random_weights=True)


def _plates(n):
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (24, 72, 3), dtype=np.uint8) for _ in range(n)]


def test_encoded_bytes_are_one_image_read_as_the_file_is(reader, tmp_path):
    img, = _plates(1)
    path = str(tmp_path / 'plate.png')
    cv2.imwrite(path, img)
    data = open(path, 'rb').read()
    from_bytes, from_view, empty = reader([data, memoryview(data), b''])['predictions']
    from_file = reader(path)['predictions'][0]
    assert from_bytes['input'] == 'bytes[0]' and from_view['input'] == 'bytes[1]'
    for rec in (from_bytes, from_view):
        assert (rec['text'], rec['confidence']) == (from_file['text'], from_file['confidence'])
    assert empty['input'] == 'bytes[2]' and 'empty' in empty['error']
    # one bytes object alone is one image, not a list of 1000 integers
    assert len(reader(data)['predictions']) == 1


@pytest.mark.parametrize('inputs', [torch.zeros(24, 72, 3), None, 5, {'a': 1},
                                    torch.utils.data.DataLoader([np.zeros((24, 72, 3))])])
def test_inputs_that_are_no_image_or_list_are_a_type_error(inputs):
    with pytest.raises(TypeError, match='inputs: .*numpy array'):
        expand_inputs(inputs)


def test_a_tensor_in_a_list_is_an_error_record_that_says_what_to_give():
    item, = expand_inputs([torch.zeros(24, 72, 3)])
    assert item.source == 'input[0]' and 'tensor.cpu().numpy()' in item.error


def test_bytes_that_spell_a_path_are_told_to_be_a_str():
    item, = expand_inputs([b'/data/plates/a.png'])
    assert item.source == 'bytes[0]' and 'give a path as str' in item.error


def test_no_checkpoint_is_refused_unless_random_weights_are_asked_for(cfg):
    for weights in (None, ''):  # an unset environment variable
        with pytest.raises(ValueError, match='needs the checkpoint'):
            PlateRecognizer(cfg, weights, device='cpu')
    with pytest.raises(ValueError, match='give no weights'):
        PlateRecognizer(cfg, 'x.pth', device='cpu', random_weights=True)


@pytest.mark.parametrize('max_pixels', [0, -1, '1000000', True, float('nan')])
def test_a_bad_max_pixels_is_refused_at_construction(cfg, max_pixels):
    with pytest.raises(ValueError, match='max_pixels'):
        PlateRecognizer(cfg, None, device='cpu', random_weights=True, max_pixels=max_pixels)


def test_max_pixels_may_be_any_number_or_infinity(cfg):
    assert PlateRecognizer(cfg, None, device='cpu', random_weights=True,
                           max_pixels=1e9).max_pixels == 10**9
    assert PlateRecognizer(cfg, None, device='cpu', random_weights=True,
                           max_pixels=float('inf')).max_pixels is None


def test_arrays_of_a_call_that_votes_are_one_track(reader):
    plates = _plates(3)
    out = reader(plates, track=True)
    assert [(r['track_id'], r['frame_idx']) for r in out['predictions']] == [
        ('in-memory', 0), ('in-memory', 1), ('in-memory', 2)]
    (track, ) = out['tracks']
    assert track['track_id'] == 'in-memory' and track['num_read'] == 3
    assert all(r['track_id'] is None for r in reader(plates)['predictions'])


def test_a_drawing_that_cannot_be_written_loses_no_reading(reader, tmp_path, monkeypatch):
    import dld.apis.plate_recognizer as module
    real = module.save_visualization

    def disk_full_for_the_first(img, record, *args, **kwargs):
        if record['input'] == 'array[0]':
            raise OSError('cannot write visualization: No space left on device')
        return real(img, record, *args, **kwargs)

    monkeypatch.setattr(module, 'save_visualization', disk_full_for_the_first)
    plates = _plates(2)
    expected = reader(plates)['predictions']
    out = reader(plates, vis_dir=str(tmp_path))
    assert [r['text'] for r in out['predictions']] == [r['text'] for r in expected]
    assert 'vis_path' not in out['predictions'][0]
    assert out['visualization'] == [out['predictions'][1]['vis_path']]
    assert osp.isfile(out['visualization'][0])


def test_a_name_taken_by_a_folder_is_drawn_beside_it(cfg, tmp_path):
    os.makedirs(tmp_path / '000000_array_0.png')
    fresh = PlateRecognizer(cfg, None, device='cpu', random_weights=True)  # counts from 0
    path = fresh(_plates(1), vis_dir=str(tmp_path))['predictions'][0]['vis_path']
    assert osp.basename(path) == '000000_array_0-1.png' and osp.isfile(path)


def test_a_forced_numpy_scale_is_recorded_as_the_number_it_stands_for(reader):
    rec = reader(_plates(1), scale=np.float32(0.6))['predictions'][0]
    assert rec['scale'] == 0.6
    # a scale that rounds to 0 is refused before any image is read
    with pytest.raises(ValueError, match=r'scale must be in \(0, 4\], got 0.0'):
        reader(_plates(1), scale=1e-7)


def test_a_folder_named_in_memory_keeps_its_own_track(reader, tmp_path):
    folder = tmp_path / 'in-memory'
    folder.mkdir()
    cv2.imwrite(str(folder / 'a.png'), _plates(1)[0])
    out = reader([str(folder), _plates(1)[0]], track=True)
    # told apart as two folders of one name are: by the folder's parent
    assert [r['track_id'] for r in out['predictions']] == [
        f'{tmp_path.name}/in-memory', 'in-memory']
    assert len(out['tracks']) == 2


def test_forced_scales_of_one_input_size_are_traced_once(reader, monkeypatch):
    # a service forcing many scales traced each one again, and kept each
    import dld.models.distillers.scale_costs as scale_costs
    from dld.utils.flops import scale_input_shapes
    scales = (0.77, 0.7705)
    same, other = scale_input_shapes(reader.base_size, list(scales))
    assert same == other
    traced = []
    real = scale_costs._measure
    monkeypatch.setattr(scale_costs, '_measure', lambda module, shape, *args, **kwargs:
                        traced.append(shape) or real(module, shape, *args, **kwargs))
    first, second = (reader(_plates(1), scale=s)['predictions'][0] for s in scales)
    assert len(traced) == 1 and first['gflops'] == second['gflops']


def test_loading_a_checkpoint_writes_nothing_to_stdout(tiny_run, capfd):
    """MMEngine printed 'Loads checkpoint by local_weights_only backend from
    path: ...' on stdout at every construction, where a worker speaks JSON
    lines; no logger setting could stop it (a service journey)."""
    capfd.readouterr()
    PlateRecognizer(tiny_run['config'], tiny_run['student'], device='cpu')
    assert capfd.readouterr().out == ''


def test_pickling_a_recognizer_is_refused_saying_to_build_one_per_worker(reader):
    """pickle's own error named a lock (a spawned pool's worker, a service
    journey)."""
    import copy
    import pickle
    for attempt in (pickle.dumps, copy.deepcopy):
        with pytest.raises(TypeError, match='PlateRecognizer cannot be pickled or copied .*build '
                           'one in each worker process'):
            attempt(reader)


@pytest.mark.parametrize('track', ['no', 1])
def test_track_must_be_a_bool(reader, track):
    """track='no' voted (any non-empty string was True; a service journey);
    None, a request's missing field, is unset."""
    with pytest.raises(ValueError, match=f'track must be True or False, got {track!r}'):
        reader(_plates(1), track=track)
    assert 'tracks' not in reader(_plates(1), track=None)

