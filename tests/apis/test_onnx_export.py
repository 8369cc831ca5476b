"""tools/deployment/export_onnx.py and dld/deploy: an export reads as PyTorch does.

The readers are compared on generated plates of every width the keep-ratio
resize pads (valid_ratio < 1 masks the attention decoder's memory), so a
graph that lost the mask, the per-scale BatchNorm statistics, the scale
resize or the normalisation reads otherwise and fails here.
"""
import contextlib
import io
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from attention_dld import attention_recognizer_cfg
from mmengine.config import Config
from repo_scripts import REPO, load_script
from tiny_dld import SCALES, baseline_config, dld_config, pipeline, recognizer_cfg

from dld.apis import PlateRecognizer
from dld.apis.input_items import expand_inputs
from dld.deploy.onnx_export import synthetic_check_images
from dld.deploy.onnx_reader import MANIFEST, OnnxPlateReader, ctc_log_likelihood, expand_paths
from dld.deploy.onnx_reader import main as onnx_reader_main

pytest.importorskip('onnxruntime')
onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxscript')


def _images(count: int = 24, seed: int = 5):
    """Generated LR and HR frames, and plates cut narrower and wider (the
    keep-ratio resize pads them: valid_ratio from about 0.3 to 1)."""
    images = synthetic_check_images(count, seed)
    for i, img in enumerate(list(images[:8])):
        w = img.shape[1]
        images.append(img[:, : max(4, w * (i + 2) // 10)])
    # grey and BGRA arrays, which both readers turn into BGR
    images.append(cv2.cvtColor(images[0], cv2.COLOR_BGR2GRAY))
    images.append(np.dstack([images[1], np.full(images[1].shape[:2], 255, np.uint8)]))
    return images


def _write_model(root, cfg: dict, name: str) -> dict:
    """``cfg``'s model, randomly initialised, as a config and a checkpoint.

    BatchNorm statistics of their own per scale, so that a graph that read
    another scale's statistics would read otherwise. (An untrained attention
    model reads every plate alike, so the readings are compared by their
    confidence too, which differs by image.)
    """
    from dld.registry import MODELS
    os.makedirs(root, exist_ok=True)
    config, ckpt = osp.join(root, f'{name}.py'), osp.join(root, f'{name}.pth')
    Config(cfg).dump(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg['model'])
    gen = torch.Generator().manual_seed(1)
    for key, value in model.state_dict().items():
        if key.endswith('running_mean'):
            value.copy_(0.3 * torch.randn(value.shape, generator=gen))
        elif key.endswith('running_var'):
            value.copy_(0.5 + torch.rand(value.shape, generator=gen))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('teacher.')}
    torch.save(dict(state_dict=state), ckpt)
    return dict(config=config, checkpoint=ckpt)


def _attention_dld(root, cell: str = 'gru', **decoder) -> dict:
    cfg = dld_config(osp.join(str(root), 'data'))
    dec = dict(cell=cell, **decoder)
    if cell == 'transformer':
        dec.update(num_heads=2, num_layers=1)
    student = attention_recognizer_cfg(12)
    student['decoder'].update(dec)
    teacher = attention_recognizer_cfg(16)
    teacher['decoder'].update(dec)
    cfg['model'].update(teacher=teacher, student=student)
    return _write_model(str(root), cfg, f'dld_{cell}')


def _export(paths: dict, out_dir, *extra) -> int:
    tool = load_script('tools/deployment/export_onnx.py')
    check = [] if '--no-check' in extra else ['--check-count', '16']
    return tool.main([paths['config'], paths['checkpoint'], '--out-dir', str(out_dir),
                      *check, *extra])


@contextlib.contextmanager
def _graphs_taken_from(export_dir):
    """Exports whose graphs are ``export_dir``'s, copied, not traced again
    (a minute of the exporter's each): for a test of what an export writes
    beside the graphs of one model, the graphs are the same."""
    from unittest import mock

    def copy_graph(module, args, path, *rest, **kwargs):
        shutil.copy(osp.join(str(export_dir), osp.basename(path)), path)

    with mock.patch('dld.deploy.onnx_export._export', copy_graph):
        yield


def _same_readings(paths: dict, out_dir, images, cfg_options=None, **kwargs):
    """The export's readings against PlateRecognizer's (greedy) on ``images``."""
    from dld.apis import load_config
    cfg = load_config(paths['config'], cfg_options)
    torch_out = PlateRecognizer(cfg, paths['checkpoint'], device='cpu', batch_size=7)(
        images, beam_width=1, **kwargs)['predictions']
    onnx_out = OnnxPlateReader(str(out_dir), batch_size=5)(images, **kwargs)
    assert len(onnx_out) == len(torch_out) == len(images)
    for a, b in zip(torch_out, onnx_out):
        assert a['error'] is None and b['error'] is None
        assert (b['text'], b['scale'], b['scales_read']) == \
            (a['text'], a['scale'], a['scales_read'])
        assert b['confidence'] == pytest.approx(a['confidence'], rel=1e-4, abs=1e-6)
        assert b['gflops'] == pytest.approx(a['gflops'], rel=1e-9)
        # the selector's probabilities (where it chose) as PyTorch's
        assert (a['scale_probs'] is None) == (b['scale_probs'] is None)
        assert set(b['scale_probs'] or ()) == set(a['scale_probs'] or ())
        for scale, p in (a['scale_probs'] or {}).items():
            assert b['scale_probs'][scale] == pytest.approx(p, abs=1e-5)
    return torch_out


@pytest.fixture(scope='module')
def gru_export(tmp_path_factory):
    """A DLD model with a GRU attention decoder and a selector, exported by
    the tool; ``printed``: what the tool printed."""
    root = tmp_path_factory.mktemp('onnx_gru')
    paths = _attention_dld(root / 'model')
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert _export(paths, root / 'export') == 0
    return dict(paths, root=root, out=root / 'export', printed=printed.getvalue())


def test_an_attention_dld_export_reads_as_pytorch_with_its_selector(gru_export, capsys):
    manifest = json.loads((gru_export['out'] / MANIFEST).read_text())
    assert [s['scale'] for s in manifest['scales']] == list(SCALES)
    assert manifest['selector']['file'] == 'selector.onnx'
    assert manifest['decoder']['kind'] == 'attention' and manifest['fixed_scale'] is None
    assert manifest['input'] == dict(stream='lr', frame='lr', color_type='color', size=[48, 144],
                                     keep_ratio=True, pad_value=0, interpolation='bilinear')
    images = _images()
    readings = _same_readings(gru_export, gru_export['out'], images)
    # not a trivial agreement: the selector's choices and the confidences
    # differ by image, and by scale
    assert len({r['scale'] for r in readings}) > 1
    # each record says why its scale was chosen: the likeliest candidate
    for r in readings:
        probs = r['scale_probs']
        assert list(map(float, probs)) == list(SCALES)
        assert sum(probs.values()) == pytest.approx(1.0)
        assert float(max(probs, key=probs.get)) == r['scale']
    forced = _same_readings(gru_export, gru_export['out'], images[:6], scale=SCALES[1])
    assert all(r['scale_probs'] is None for r in forced)
    assert len({round(r['confidence'], 12) for r in readings}) > len(images) // 2
    by_scale = [_same_readings(gru_export, gru_export['out'], images[:12], scale=scale)
                for scale in SCALES]
    for a, b in zip(by_scale, by_scale[1:]):
        assert all(x['confidence'] != y['confidence'] for x, y in zip(a, b))
    # ... and by the padding each image leaves (the decoder's memory mask)
    reader = OnnxPlateReader(str(gru_export['out']))
    narrow = [reader.resize(reader.load(img)) for img in images[-10:-2]]
    assert all(ratio < 1 for _, ratio in narrow)
    batch = np.stack([img for img, _ in narrow])
    masked = reader.read_batch(batch, [r for _, r in narrow], 1.0)
    unmasked = reader.read_batch(batch, np.ones(len(narrow)), 1.0)
    assert all(a['confidence'] != b['confidence'] for a, b in zip(masked, unmasked))


def test_the_tool_says_what_it_wrote_and_checked(gru_export):
    out = gru_export['printed']
    assert ('checked on 16 generated plates, as the model reads them and at each exported '
            'scale (all 4 graphs ran): the same text and scale as PyTorch for every one') in out
    for scale in SCALES:
        assert f'student_{scale:g}.onnx' in out
    assert sorted(os.listdir(gru_export['out'])) == sorted(
        [MANIFEST, 'selector.onnx'] + [f'student_{s:g}.onnx' for s in SCALES])
    # nothing of the staging folder is left beside it
    assert sorted(os.listdir(gru_export['root'])) == ['export', 'model']


@pytest.mark.parametrize('cell', ['transformer', 'lstm'])
def test_other_attention_cells_at_a_fixed_scale(tmp_path, cell):
    """A config's fixed scale: one graph, no selector, every image read there."""
    paths = _attention_dld(tmp_path, cell)
    opts = ['model.test_cfg.force_scale=0.6']
    assert _export(paths, tmp_path / 'out', '--cfg-options', *opts) == 0
    manifest = json.loads((tmp_path / 'out' / MANIFEST).read_text())
    assert [s['scale'] for s in manifest['scales']] == [0.6]
    assert manifest['selector'] is None and manifest['fixed_scale'] == 0.6
    readings = _same_readings(paths, tmp_path / 'out', _images(12),
                              cfg_options={'model.test_cfg.force_scale': 0.6})
    assert {r['scale'] for r in readings} == {0.6}


def test_the_reread_cascade_reads_unsure_images_again_as_pytorch(gru_export, tmp_path):
    """An export of a config with a reread cascade: every image under the
    threshold is read again at 1.0x, its cost added."""
    opts = {'model.test_cfg.reread': dict(min_score=0.9, scales=[1.0])}
    out = tmp_path / 'reread'
    with _graphs_taken_from(gru_export['out']):  # the cascade is the manifest's
        assert _export(gru_export, out, '--cfg-options',
                       'model.test_cfg.reread.min_score=0.9',
                       'model.test_cfg.reread.scales=[1.0]') == 0
    assert json.loads((out / MANIFEST).read_text())['reread'] == dict(min_score=0.9,
                                                                      scales=[1.0])
    readings = _same_readings(gru_export, out, _images(12), cfg_options=opts)
    assert any(len(r['scales_read']) == 2 for r in readings)


def test_a_selector_bias_is_exported_and_read_as_pytorch(gru_export, tmp_path):
    """``test_cfg.selector_bias`` shifts the selector's logits in the reader as
    in PyTorch; its export is of format 2, which a reader of format 1 refuses
    rather than read with the selector unshifted."""
    unbiased = _same_readings(gru_export, gru_export['out'], _images(12))
    bias = [0.0, 0.0, 50.0]  # every image to the last candidate
    out = tmp_path / 'biased'
    assert _export(gru_export, out, '--cfg-options',
                   f"model.test_cfg.selector_bias=[{','.join(map(str, bias))}]") == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['selector']['bias'] == bias and manifest['version'] == 2
    readings = _same_readings(gru_export, out, _images(12),
                              cfg_options={'model.test_cfg.selector_bias': bias})
    assert {r['scale'] for r in readings} == {SCALES[-1]} != {r['scale'] for r in unbiased}
    # the probabilities said are those the choice was made on, bias included
    assert all(r['scale_probs'][f'{SCALES[-1]:g}'] > 0.99 for r in readings)
    assert json.loads((gru_export['out'] / MANIFEST).read_text())['version'] == 1
    # one value for every scale moves no choice: no bias written, format 1
    out = tmp_path / 'flat'
    with _graphs_taken_from(gru_export['out']):
        assert _export(gru_export, out, '--no-check', '--cfg-options',
                       'model.test_cfg.selector_bias=[0,0,0]') == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['version'] == 1 and 'bias' not in manifest['selector']


def test_a_plain_recognizer_reading_hr_exports_at_full_scale(tmp_path):
    """An HR teacher's config (its test pipeline packs the HR frame): the HR
    resize (no padding), scale 1.0, no selector; a CTC decoder."""
    cfg = baseline_config(osp.join(str(tmp_path), 'data'))
    cfg['test_dataloader']['dataset']['pipeline'] = pipeline('hr', with_hr=True)
    paths = _write_model(str(tmp_path), cfg, 'teacher')
    assert _export(paths, tmp_path / 'out') == 0
    manifest = json.loads((tmp_path / 'out' / MANIFEST).read_text())
    assert manifest['input']['stream'] == 'hr' and manifest['input']['keep_ratio'] is False
    assert manifest['decoder']['kind'] == 'ctc' and manifest['fixed_scale'] == 1.0
    assert manifest['selector'] is None
    _same_readings(paths, tmp_path / 'out', _images(12))


def test_a_trained_ctc_student_reads_its_test_set_as_pytorch(tiny_run, tmp_path):
    """Image files (decoded by the reader itself), a trained selector."""
    paths = dict(config=tiny_run['config'], checkpoint=tiny_run['student'])
    assert _export(paths, tmp_path / 'out') == 0
    folder = osp.join(tiny_run['data'], 'test')
    files = sorted(osp.join(d, f) for d, _, names in os.walk(folder) for f in names
                   if f.startswith('lr-'))
    readings = _same_readings(paths, tmp_path / 'out', files)
    # the tiny run reads blanks alike; its CTC confidences differ by image
    assert len({round(r['confidence'], 9) for r in readings}) > len(files) // 2


def test_the_reader_runs_without_torch_or_dld(gru_export, tmp_path):
    """Copied alone beside the export, the reader needs neither."""
    shutil.copy(osp.join(REPO, 'dld', 'deploy', 'onnx_reader.py'), tmp_path / 'reader.py')
    images = _images(6)
    folder = tmp_path / 'plates'
    folder.mkdir()
    files = []
    for i, img in enumerate(images):
        files.append(str(folder / f'{i:02d}.png'))
        cv2.imwrite(files[-1], img)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    script = ("import sys; sys.modules['torch'] = None; sys.modules['dld'] = None; "
              "sys.modules['mmengine'] = None; sys.path.insert(0, sys.argv[1]); "
              "import reader; sys.exit(reader.main(sys.argv[2:]))")

    def run(*inputs):
        return subprocess.run([sys.executable, '-c', script, str(tmp_path),
                               str(gru_export['out']), *inputs],
                              capture_output=True, text=True, cwd=str(tmp_path))

    done = run(str(folder), str(bad))  # a folder's images, then a bad file
    assert done.returncode == 0, done.stderr
    expected = OnnxPlateReader(str(gru_export['out']))(files)
    lines = done.stdout.splitlines()
    assert [line.split('\t')[:2] for line in lines] == [[f, r['text']]
                                                        for f, r in zip(files, expected)]
    # confidences as infer.py prints them: an unsure model's tiny ones not as 0.0000
    printed = [float(line.split('\t')[2]) for line in lines]
    assert min(r['confidence'] for r in expected) < 1e-4  # the untrained model's are tiny
    assert printed == pytest.approx([r['confidence'] for r in expected], rel=0.06)
    assert done.stderr.strip() == \
        f'{bad}\terror: cannot decode image (corrupt or not an image)'
    assert run(str(bad)).returncode == 1  # nothing could be read


def test_the_reader_prints_each_batch_as_it_is_read_and_ctrl_c_keeps_them(
        gru_export, tmp_path, capsys, monkeypatch):
    """It printed nothing until every image was read: a stopped run (Ctrl-C,
    SIGTERM) lost them all (an inference-at-scale journey)."""
    files = []
    for i, img in enumerate(_images(6)):
        files.append(str(tmp_path / f'{i:02d}.png'))
        cv2.imwrite(files[-1], img)
    real_init, real_chunk, chunks = OnnxPlateReader.__init__, OnnxPlateReader._read_chunk, []

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.batch_size = 2

    def read_chunk(self, chunk, scale):
        chunks.append(1)
        if len(chunks) == 2:  # Ctrl-C during the second batch
            raise KeyboardInterrupt
        return real_chunk(self, chunk, scale)
    monkeypatch.setattr(OnnxPlateReader, '__init__', init)
    monkeypatch.setattr(OnnxPlateReader, '_read_chunk', read_chunk)
    assert onnx_reader_main([str(gru_export['out']), *files]) == 130
    captured = capsys.readouterr()
    assert [line.split('\t')[0] for line in captured.out.splitlines()] == files[:2]
    assert f'stopped by Ctrl-C after 2 of {len(files)} input(s)' in captured.err


def test_the_reader_stopped_before_reading_says_so_in_one_line(capsys, monkeypatch):
    """Ctrl-C while the model loaded was a KeyboardInterrupt traceback."""
    def loading(self, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(OnnxPlateReader, '__init__', loading)
    assert onnx_reader_main(['model_dir', 'x.png']) == 130
    assert capsys.readouterr().err == 'stopped by Ctrl-C before any image was read\n'


def test_an_image_the_reader_cannot_read_gets_an_error_record(gru_export, tmp_path):
    """As PlateRecognizer: one bad input does not stop the others, and its
    record says why, with PlateRecognizer's ``error_type`` (it had none)."""
    reader = OnnxPlateReader(str(gru_export['out']), batch_size=2)
    bad, empty = tmp_path / 'bad.png', tmp_path / 'empty.png'
    bad.write_bytes(b'not a png')
    empty.write_bytes(b'')
    good = synthetic_check_images(2)
    out = reader([good[0], str(bad), np.full((10, 30, 3), np.nan, np.float32), str(empty),
                  str(tmp_path), good[1], None, np.frombuffer(b'\x89PNG....', np.uint8)])
    assert [r['input'] for r in out] == ['array[0]', str(bad), 'array[2]', str(empty),
                                         str(tmp_path), 'array[5]', 'input[6]', 'array[7]']
    assert out[6]['error'].startswith('unsupported input type None; give an image path')
    assert out[7]['error'].endswith('(np.frombuffer of a request body)? give them as bytes')
    assert out[1]['error'] == 'cannot decode image (corrupt or not an image)'
    assert out[2]['error'] == 'float image holds NaN or infinity'
    assert out[3]['error'] == 'empty file (0 bytes)'
    assert out[4]['error'] == 'a folder, not an image file'
    failed = out[1:5] + out[6:]
    labels = tmp_path / 'test.txt'  # a CTC journey's: read as 'corrupt or not an image'
    labels.write_text('a.png\tABC123\n')
    [label_file] = reader(str(labels))
    assert label_file['error'] == ('a text file (a label file?), not an image; this reader '
                                   "reads images and folders of them, label files are "
                                   "tools/infer.py's")
    assert all(r['error_type'] == 'ImageInputError' for r in failed)
    assert all(r[k] is None for r in failed
               for k in ('text', 'confidence', 'scale', 'scales_read', 'gflops'))
    alone = reader(good)
    assert [(r['text'], r['confidence']) for r in (out[0], out[5])] == \
        [(r['text'], r['confidence']) for r in alone]
    assert all(r['error'] is None and r['error_type'] is None for r in alone)
    assert set(alone[0]) == set(out[1])  # one set of keys, read or not


def test_the_reader_takes_the_arrays_plate_recognizer_takes(gru_export):
    """uint16, float and wider integer arrays were error records ("not an
    image") where PlateRecognizer reads them: one rule now."""
    from dld.apis.image_input import normalize_image
    reader = OnnxPlateReader(str(gru_export['out']))
    img = synthetic_check_images(1)[0]
    arrays = [img, img.astype(np.uint16) * 257, img.astype(np.float32) / 255,
              img.astype(np.float64), img.astype(np.int64), img[..., 0] > 127]
    out = reader(arrays)
    assert all(r['error'] is None for r in out)
    for array, r in zip(arrays, out):
        expected = normalize_image(array, color_type='color')
        [as_uint8] = reader(expected)
        assert (r['text'], r['confidence']) == (as_uint8['text'], as_uint8['confidence'])
    assert out[1]['text'] == out[2]['text'] == out[3]['text'] == out[0]['text']
    [wide] = reader(np.arange(900, dtype=np.int32).reshape(10, 30, 3))
    assert wide['error'] == 'int32 array with values from 0 to 899: give uint8 (0-255), ' \
        'uint16 (0-65535), or float ([0, 1] or [0, 255])'


def test_the_reader_decodes_16_bit_files_as_the_datasets_do(gru_export, tmp_path):
    """A 16-bit PNG of 8-bit values read as a black image by the reader (and
    the datasets), where the same uint16 array read as it is."""
    import cv2

    from dld.datasets.transforms.loading import read_plate_image
    reader = OnnxPlateReader(str(gru_export['out']))
    img = synthetic_check_images(1)[0]
    for name, pixels in (('eight.png', img.astype(np.uint16)),
                         ('sixteen.png', img.astype(np.uint16) * 257)):
        path = str(tmp_path / name)
        assert cv2.imwrite(path, pixels)
        assert np.array_equal(reader.load(path), read_plate_image(path))
        assert np.array_equal(reader.load(path), img)


def test_the_reader_warns_of_a_12_bit_sensor_once(gru_export, tmp_path, capsys, monkeypatch):
    """A 12-bit sensor's values in 16-bit files read nearly black, as the
    datasets read them: they warn, and the reader on the device said nothing."""
    import cv2

    from dld.deploy import onnx_reader
    monkeypatch.setattr(onnx_reader, '_WARNED_DIM_SIXTEEN_BIT', False)
    reader = OnnxPlateReader(str(gru_export['out']))
    img = synthetic_check_images(1)[0].astype(np.uint16) * 16  # values up to 4080
    paths = [str(tmp_path / f'{i}.png') for i in range(2)]
    for path in paths:
        assert cv2.imwrite(path, img)
    capsys.readouterr()
    for path in paths:
        reader.load(path)
    err = capsys.readouterr().err
    assert err.count('16-bit image whose values reach only') == 1
    assert paths[0] in err and '(img >> (bits - 8))' in err


@pytest.mark.parametrize('images, said', [
    (None, 'unsupported input type None'), (3, 'unsupported input type int'),
    ({'a.png': 1}, 'unsupported input type dict')])
def test_the_reader_refuses_a_call_that_gives_no_images(gru_export, images, said):
    """None iterated was a raw "'NoneType' object is not iterable", a dict's
    keys were read as paths: refused whole, when called."""
    reader = OnnxPlateReader(str(gru_export['out']))
    with pytest.raises(TypeError, match=f'^images: {said}; give an image path'):
        reader.read_batches(images)


def test_the_reader_command_prints_json_records_in_batches(gru_export, tmp_path, capsys,
                                                          monkeypatch):
    """The command line had neither a batch size nor records a program reads."""
    files = []
    for i, img in enumerate(_images(3)):
        files.append(str(tmp_path / f'{i}.png'))
        cv2.imwrite(files[-1], img)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    sizes = []
    real_init = OnnxPlateReader.__init__

    def init(self, *args, **kwargs):
        sizes.append(kwargs.get('batch_size'))
        real_init(self, *args, **kwargs)
    monkeypatch.setattr(OnnxPlateReader, '__init__', init)
    assert onnx_reader_main([str(gru_export['out']), *files, str(bad), '--json',
                             '--batch-size', '2']) == 0
    assert sizes == [2]
    out = capsys.readouterr()
    records = [json.loads(line) for line in out.out.splitlines()]
    expected = OnnxPlateReader(str(gru_export['out']), batch_size=2)(files + [str(bad)])
    assert records == expected
    assert records[-1]['error_type'] == 'ImageInputError'
    assert out.err.strip() == f'{bad}\terror: cannot decode image (corrupt or not an image)'
    with pytest.raises(SystemExit):
        onnx_reader_main([str(gru_export['out']), files[0], '--batch-size', '0'])
    assert '--batch-size must be >= 1, got 0' in capsys.readouterr().err


def test_one_image_is_read_as_one(gru_export, tmp_path):
    """An array or a path alone was iterated: an array's rows read as images."""
    reader = OnnxPlateReader(str(gru_export['out']))
    img = _images(1)[0]
    path = str(tmp_path / 'one.png')
    cv2.imwrite(path, img)
    [from_array] = reader(img)
    [from_path] = reader(path)
    assert from_path['input'] == path and from_array['input'] == 'array[0]'
    assert from_array['text'] == from_path['text'] == reader([img])[0]['text']
    # the bytes of the file are one image too, not one record per byte
    with open(path, 'rb') as f:
        data = f.read()
    [from_bytes] = reader(data)
    assert from_bytes['input'] == 'bytes[0]' and from_bytes['text'] == from_path['text']
    [empty] = reader([b''])
    assert empty['error'] == 'no bytes to decode (empty)'


def test_a_large_png_is_refused_from_its_header(gru_export, tmp_path):
    reader = OnnxPlateReader(str(gru_export['out']), max_pixels=100)
    path = str(tmp_path / 'big.png')
    cv2.imwrite(path, _images(1)[0])
    [out] = reader(path)
    assert 'pixels exceeds the limit of 100 pixels' in out['error']


def test_the_reader_refuses_what_it_cannot_read(gru_export, tmp_path):
    reader = OnnxPlateReader(str(gru_export['out']))
    with pytest.raises(ValueError, match='scale 0.5 was not exported'):
        reader(_images(1), scale=0.5)
    with pytest.raises(ValueError, match="scale must be a number, one of .*, got '0.6'"):
        reader(_images(1), scale='0.6')  # PlateRecognizer refuses it too
    with pytest.raises(ValueError, match='threads must be an integer >= 1'):
        OnnxPlateReader(str(gru_export['out']), threads=0)
    with pytest.raises(FileNotFoundError, match='no dld_onnx.json'):
        OnnxPlateReader(str(tmp_path))
    copy = tmp_path / 'copy'
    shutil.copytree(gru_export['out'], copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    (copy / MANIFEST).write_text(json.dumps(dict(manifest, version=99)))
    with pytest.raises(ValueError, match='format version 99'):
        OnnxPlateReader(str(copy))
    (copy / MANIFEST).write_text(json.dumps(dict(manifest, fixed_scale=0.5)))
    with pytest.raises(ValueError, match=r'the model reads at \[0\.5\], which were not '
                       r'exported'):
        OnnxPlateReader(str(copy))
    # a hand-edited bias of the wrong length: a numpy broadcast error when read
    selector = dict(manifest['selector'], bias=[1.0])
    (copy / MANIFEST).write_text(json.dumps(dict(manifest, version=2, selector=selector)))
    with pytest.raises(ValueError, match=r"the selector's bias \[1\.0\] is not one finite "
                       'number per candidate scale'):
        OnnxPlateReader(str(copy))
    (copy / MANIFEST).write_text(json.dumps(manifest))
    os.remove(copy / 'selector.onnx')
    with pytest.raises(FileNotFoundError, match="selector.onnx"):
        OnnxPlateReader(str(copy))


def test_out_dir_and_scales_are_checked_before_exporting(gru_export, tmp_path, capsys):
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'notes.txt').write_text('mine')
    assert _export(gru_export, other) == 2
    assert 'holds files that are not an export' in capsys.readouterr().err
    assert (other / 'notes.txt').read_text() == 'mine'
    # an export already there is kept unless --force
    copy = tmp_path / 'copy'
    shutil.copytree(gru_export['out'], copy)
    assert _export(gru_export, copy) == 2
    assert '--force replaces it' in capsys.readouterr().err
    assert _export(gru_export, tmp_path / 'x', '--scales', '1.0', '0.6') == 2
    err = capsys.readouterr().err
    assert '--scales [1.0, 0.6] leaves out [0.4]' in err and 'Traceback' not in err
    assert not (tmp_path / 'x').exists()
    assert [p for p in os.listdir(tmp_path) if 'partial' in p] == []


def test_force_replaces_an_export_and_a_failed_check_keeps_the_old_one(
        gru_export, tmp_path, capsys, monkeypatch):
    out = tmp_path / 'out'
    shutil.copytree(gru_export['out'], out)
    fixed = ('--cfg-options', 'model.test_cfg.force_scale=0.4')  # one graph: quicker
    before = (out / MANIFEST).read_text()
    import dld.deploy.onnx_export as export
    real = export.compare_readings

    def disagree(*args, **kwargs):
        check = real(*args, **kwargs)
        return dict(check, same=check['readings'] - 1,
                    differ=[dict(index=3, torch=('ABC1234', 1.0), onnx=('ABC1284', 1.0))])

    monkeypatch.setattr(export, 'compare_readings', disagree)
    # what is replaced and kept is the test's: the graphs are gru_export's
    monkeypatch.setattr(export, '_export', lambda module, args, path, *rest, **kwargs:
                        shutil.copy(gru_export['out'] / osp.basename(path), path))
    assert _export(gru_export, out, '--force', *fixed) == 1
    err = capsys.readouterr().err
    assert ('1 of the 32 readings of the 16 generated plates (as the model reads them, then '
            "at each scale) differ from PyTorch's") in err
    assert (out / MANIFEST).read_text() == before  # the old export stays
    assert (tmp_path / 'out.unverified' / MANIFEST).is_file()
    monkeypatch.setattr(export, 'compare_readings', real)
    os.remove(out / 'selector.onnx')  # a damaged export, replaced whole
    assert _export(gru_export, out, '--force', *fixed) == 0
    assert OnnxPlateReader(str(out)).scales == [0.4]
    assert sorted(os.listdir(tmp_path)) == ['out', 'out.unverified']


def test_a_test_pipeline_the_reader_cannot_reproduce_is_refused(tmp_path, capsys):
    cfg = dld_config(osp.join(str(tmp_path), 'data'))
    steps = pipeline()
    steps.insert(2, dict(type='PlatePhotometricDistort', prob=0.0, keys=('img', )))
    cfg['test_dataloader']['dataset']['pipeline'] = steps
    cfg['model'].update(teacher=recognizer_cfg(16), student=recognizer_cfg(12))
    paths = _write_model(str(tmp_path), cfg, 'dld')
    assert _export(paths, tmp_path / 'out') == 2
    err = capsys.readouterr().err
    assert "['ResizePair', 'PlatePhotometricDistort', 'PackPlateInputs']" in err
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('target', [[], [3], [3, 3], [1, 2, 1], [5, 5, 2, 2]])
def test_ctc_log_likelihood_is_torchs_ctc_loss(target):
    torch.manual_seed(len(target))
    log_probs = torch.randn(9, 7).log_softmax(-1)
    expected = -torch.nn.functional.ctc_loss(
        log_probs[:, None], torch.tensor([target], dtype=torch.long), [9], [len(target)],
        blank=6, reduction='none')
    assert ctc_log_likelihood(log_probs.double().numpy(), target, 6) == \
        pytest.approx(float(expected), rel=1e-6)


def test_a_selector_that_reads_with_gumbel_noise_is_refused(gru_export, tmp_path, capsys):
    assert _export(gru_export, tmp_path / 'out', '--cfg-options',
                   'model.selector.gumbel_at_test=True') == 2
    assert 'model.selector.gumbel_at_test=False' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_a_memory_of_45_steps_or_more_masks_as_pytorch(gru_export, tmp_path):
    """Read at 2.0x the memory has 72 steps: a valid_ratio passed in float32
    rounded ceil(r * 72) one step up for some widths (a review's finding)."""
    opts = ['model.test_cfg.force_scale=2.0']
    assert _export(gru_export, tmp_path / 'out', '--no-check', '--cfg-options', *opts) == 0
    base = synthetic_check_images(1, seed=9)[0]
    crops = [cv2.resize(base, (w, 48)) for w in (78, 98, 134, 100, 112, 120)]
    _same_readings(gru_export, tmp_path / 'out', crops,
                   cfg_options={'model.test_cfg.force_scale': 2.0})


def test_a_dld_model_without_a_selector_exports_its_one_scale(tmp_path, capsys):
    cfg = dld_config(osp.join(str(tmp_path), 'data'))
    cfg['model'].update(teacher=recognizer_cfg(16), student=recognizer_cfg(12), selector=None,
                        fixed_scale=0.6, losses=dict(skd=dict(type='SequenceKDLoss')))
    del cfg['model']['scales']
    paths = _write_model(str(tmp_path), cfg, 'fixed')
    assert _export(paths, tmp_path / 'x', '--scales', '1.0') == 2
    assert '--scales [1.0] leaves out [0.6]' in capsys.readouterr().err
    assert _export(paths, tmp_path / 'out') == 0
    manifest = json.loads((tmp_path / 'out' / MANIFEST).read_text())
    assert manifest['fixed_scale'] == 0.6 and manifest['selector'] is None
    readings = _same_readings(paths, tmp_path / 'out', _images(8))
    assert {r['scale'] for r in readings} == {0.6}


def test_the_efficiency_setting_reads_the_hr_crop_stretched(tmp_path, capsys):
    """CopyHRToLR, which inference leaves out: the image given is the HR crop,
    stretched to the input size (no padding)."""
    cfg = dld_config(osp.join(str(tmp_path), 'data'))
    cfg['test_dataloader']['dataset']['pipeline'] = [
        dict(type='LoadPlateImages', with_lr=False, with_hr=True),
        dict(type='CopyHRToLR'),
        dict(type='ResizePair', lr_size=(48, 144), hr_size=(48, 144), lr_keep_ratio=False),
        dict(type='PackPlateInputs', main_stream='lr')]
    cfg['model'].update(teacher=recognizer_cfg(16), student=recognizer_cfg(12))
    paths = _write_model(str(tmp_path), cfg, 'efficiency')
    assert _export(paths, tmp_path / 'out') == 0
    assert 'It reads the HR crop, resized to 48x144' in capsys.readouterr().out
    manifest = json.loads((tmp_path / 'out' / MANIFEST).read_text())
    assert manifest['input']['frame'] == 'hr' and manifest['input']['keep_ratio'] is False
    _same_readings(paths, tmp_path / 'out', _images(10))


def test_check_images_are_read_before_the_export(gru_export, tmp_path, capsys):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    assert _export(gru_export, tmp_path / 'out', '--check-images', str(bad)) == 2
    assert f'{bad}' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
    folder = tmp_path / 'check'
    folder.mkdir()
    images = _images(4)
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f'{i:02d}.png'), img)
    (folder / 'corrupt.png').write_bytes(b'not a png')
    assert _export(gru_export, tmp_path / 'out', '--check-images', str(folder),
                   '--cfg-options', 'model.test_cfg.force_scale=0.4') == 0
    captured = capsys.readouterr()
    assert '1 file(s) of --check-images skipped' in captured.err
    assert f'checked on {len(images)} images of --check-images' in captured.out


def test_the_selectors_choice_names_its_candidate_whatever_the_exported_order(
        gru_export, tmp_path):
    """`--scales 0.4 0.6 1.0` stored the graphs in that order, and the reader
    took the selector's index into it: 1.0 read as 0.4 (a review's finding)."""
    copy = tmp_path / 'reordered'
    shutil.copytree(gru_export['out'], copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest['scales'] = manifest['scales'][::-1]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    images = _images(12)
    original = OnnxPlateReader(str(gru_export['out']))(images)
    reordered = OnnxPlateReader(str(copy))(images)
    assert [r['scale'] for r in reordered] == [r['scale'] for r in original]
    assert len({r['scale'] for r in original}) > 1


def test_the_check_runs_every_graph_not_only_the_scales_the_selector_picks(gru_export,
                                                                          tmp_path):
    """A graph of a scale the selector never picked on the check images was
    never run (an export journey's finding): each scale is read forced too."""
    from dld.deploy.onnx_export import compare_readings
    copy = tmp_path / 'wrong'
    shutil.copytree(gru_export['out'], copy)
    shutil.copy(copy / 'student_0.6.onnx', copy / 'student_0.4.onnx')  # 0.4 reads as 0.6
    images = _images(6)
    rec = PlateRecognizer(gru_export['config'], gru_export['checkpoint'], device='cpu')
    check = compare_readings(rec, str(copy), images)
    assert check['readings'] == 4 * len(images) and check['graphs'] == 4
    assert check['differ'] and check['same'] <= 3 * len(images)
    assert compare_readings(rec, str(gru_export['out']), images)['differ'] == []


def test_a_divisor_that_pads_the_input_is_refused(tmp_path, capsys):
    """Padded to 64x160, tools/test.py reads the padding and inference squeezes it
    back to 48x144: no export can agree with both."""
    cfg = dld_config(osp.join(str(tmp_path), 'data'))
    cfg['model'].update(teacher=recognizer_cfg(16), student=recognizer_cfg(12),
                        data_preprocessor=dict(type='PlateDataPreprocessor',
                                               pad_size_divisor=32))
    paths = _write_model(str(tmp_path), cfg, 'padded')
    assert _export(paths, tmp_path / 'out') == 2
    assert 'pad_size_divisor=32' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_int8_quantizes_each_scales_convolutions_and_checks_them(gru_export, tmp_path, capsys):
    import onnx
    import onnxruntime as ort
    out = tmp_path / 'int8'
    fixed = ('--cfg-options', 'model.test_cfg.force_scale=0.4')  # one graph: quicker
    assert _export(gru_export, out, '--int8', '--calib-count', '16', *fixed) == 0
    printed = capsys.readouterr().out
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['precision'] == 'int8'
    int8 = manifest['int8']
    assert int8['ops'] == ['Conv'] and int8['calibration'] == '16 generated LR plates'
    check = int8['check']
    assert check['on'] == '16 generated LR plates' and check['images'] == 16
    assert set(check['accuracy']) == {'float32', 'int8'}
    assert ("int8: the convolutions of each scale's graph, calibrated on 16 generated LR "
            'plates; on 16 generated LR plates the int8 export reads') in printed
    # every convolution reads int8 weights and activations (QDQ), nothing else does
    graph = onnx.load(str(out / 'student_0.4.onnx')).graph
    made_by = {name: node for node in graph.node for name in node.output}
    convs = [n for n in graph.node if n.op_type == 'Conv']
    assert convs and all(made_by[n.input[i]].op_type == 'DequantizeLinear'
                         for n in convs for i in (0, 1))
    quantized = {n.output[0] for n in graph.node if n.op_type == 'DequantizeLinear'}
    assert all(name not in quantized for n in graph.node if n.op_type in ('MatMul', 'Gemm')
               for name in n.input)
    stored = {t.name: t.data_type for t in graph.initializer}
    assert all(stored[made_by[n.input[1]].input[0]] == onnx.TensorProto.INT8 for n in convs)
    # it computes what the float graph does, not exactly
    reader = OnnxPlateReader(str(out))
    resized = [reader.resize(reader.load(img)) for img in _images(8)]
    feed = dict(images=np.stack([img for img, _ in resized]),
                valid_ratio=np.asarray([r for _, r in resized], dtype=np.float64))

    def run(folder):
        session = ort.InferenceSession(str(folder / 'student_0.4.onnx'),
                                       providers=['CPUExecutionProvider'])
        return session.run(None, feed)[1]

    float_logp, int8_logp = run(gru_export['out']), run(out)
    diff = np.abs(float_logp - int8_logp)
    assert 0 < diff.max() < 0.05 * np.abs(float_logp).mean()


def test_an_int8_export_that_loses_accuracy_is_left_unverified(gru_export, tmp_path, capsys,
                                                                monkeypatch):
    import dld.deploy.onnx_quantize as quantize
    real = quantize.compare_precisions

    def worse(*args, **kwargs):
        result = real(*args, **kwargs)
        result['accuracy']['int8']['model'] = result['accuracy']['float32']['model'] - 1.5
        return dict(result, changed=3)

    monkeypatch.setattr(quantize, 'compare_precisions', worse)
    fixed = ('--cfg-options', 'model.test_cfg.force_scale=0.4')
    assert _export(gru_export, tmp_path / 'out', '--int8', '--calib-count', '8', *fixed) == 1
    err = capsys.readouterr().err
    assert 'the float one' in err and '(3 of 16 readings changed; --int8-max-drop 1 pt)' in err
    # 16 check images: one reading is 6.25 pt, more than the 1 pt allowed (a CTC journey's
    # 12 test frames failed on any one change, and nothing said why)
    assert 'more than it may lose (of 16 images one reading is 6.25 pt, so a set this small ' \
        'cannot tell a loss under that). Calibrate on plates like yours (--calib-images)' in err
    assert not (tmp_path / 'out').exists()
    assert sorted(os.listdir(tmp_path)) == ['out.unverified']  # no float copy left over
    with pytest.raises(SystemExit):
        _export(gru_export, tmp_path / 'other', '--calib-count', '8')
    assert '--calib-count only with --int8' in capsys.readouterr().err


def test_compare_precisions_counts_changes_and_accuracy(gru_export):
    from dld.deploy.onnx_quantize import compare_precisions
    images = _images(6)
    texts = [r['text'] for r in OnnxPlateReader(str(gru_export['out']))(images)]
    labels = texts[:3] + ['NOPLATE'] * (len(texts) - 3)
    result = compare_precisions(str(gru_export['out']), str(gru_export['out']), images, labels)
    assert result['changed'] == 0 and set(result['changed_by_scale']) == set(SCALES)
    assert result['accuracy']['float32'] == result['accuracy']['int8']
    assert result['accuracy']['int8']['model'] == pytest.approx(100.0 * 3 / len(images))


def test_calibration_images_are_at_most_calib_count_evenly_spaced(tmp_path, capsys):
    tool = load_script('tools/deployment/export_onnx.py')
    for i in range(10):
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.full((8, 24, 3), 20 * i, np.uint8))
    (tmp_path / 'bad.png').write_bytes(b'not a png')
    images = tool._read_images([str(tmp_path)], '--calib-images', limit=4)
    # 11 files (0..9, bad): the 1st, 3rd, 6th and 9th
    assert [int(img[0, 0, 0]) for img in images] == [0, 40, 100, 160]
    assert '1 file(s) of --calib-images skipped' not in capsys.readouterr().err
    args = tool.parse_args(['c.py', 'w.pth', '--out-dir', 'x', '--int8', '--calib-images',
                            str(tmp_path), '--calib-count', '3'])
    images, what = tool._calibration_images(args, 'lr')
    assert len(images) == 3 and what == '3 images of --calib-images'
    assert 'calibrating on 3 images of --calib-images only' in capsys.readouterr().err


def test_the_reader_finds_a_folders_images_as_infer_does(tmp_path):
    """Track folders give the model's frames only, symlinked folders are
    followed, hidden ones skipped, and an empty folder is an error item."""
    root = tmp_path / 'plates'
    for name in ('track_1/lr-002.png', 'track_1/lr-1.png', 'track_1/hr-1.png',
                 'hr_only/hr-1.png', 'twice/lr-1.png', 'bmp/lr-001.bmp', 'bmp/hr-001.bmp',
                 'misnamed/lr_001.png', 'misnamed/hr_001.png', 'coco/img_1.png',
                 'twice/lr-001.jpg', 'loose/b.jpg', 'loose/a.png',
                 '.ipynb_checkpoints/a-checkpoint.png', '../outside/c.png',
                 'loose/._a.png'):  # macOS's metadata beside a.png: no image
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b'')
    (root / 'misnamed' / 'annotations.json').write_text('{"plate_text": "ABC1234"}')
    # an export's annotations.json beside plain images: no track
    (root / 'coco' / 'annotations.json').write_text('{"images": [], "annotations": []}')
    (root / 'linked').symlink_to(tmp_path / 'outside')
    (tmp_path / 'empty').mkdir()
    given = [str(root), str(tmp_path / 'empty'), str(tmp_path / 'one.png')]
    for frame in ('lr', 'hr'):
        infer = [(osp.abspath(i.source), i.error) for i in expand_inputs(given, stream=frame)]
        reader = [(osp.abspath(s), e) for s, e in expand_paths(given, frame)]
        assert reader == infer
    found = dict(expand_paths(given, 'lr'))
    assert [osp.basename(s) for s in found if osp.dirname(s).endswith('track_1')] == \
        ['lr-1.png', 'lr-002.png']
    assert str(root / 'linked' / 'c.png') in found
    assert not any('ipynb' in s for s in found)
    assert str(root / 'loose' / 'a.png') in found and not any('._' in s for s in found)
    assert found[str(tmp_path / 'empty')] == 'folder holds no image files'
    assert found[str(root / 'hr_only')].startswith('track folder without lr-* frames')
    # a .bmp frame is a frame (it was read by neither); a labelled folder whose
    # frames are named otherwise is a track without them (its HR frames were
    # read by the LR model)
    assert [s for s in found if '/bmp/' in s] == [str(root / 'bmp' / 'lr-001.bmp')]
    assert found[str(root / 'misnamed')] == (
        'track folder without lr-* frames (its images are named otherwise, e.g. hr_001.png, '
        'lr_001.png: a frame is lr-<N> or hr-<N> with an image ending, .png .jpg .jpeg '
        '.bmp .tif .tiff .webp .ppm .pgm .pbm .jp2): this model reads the LR frame of each '
        'track')
    assert found[str(root / 'coco' / 'img_1.png')] is None  # read
    assert found[str(root / 'twice')] == \
        'track folder with frame number(s) [1] twice (lr-001.jpg, lr-1.png)'


def test_a_broken_export_is_refused_naming_its_file(gru_export, tmp_path):
    copy = tmp_path / 'copy'
    shutil.copytree(gru_export['out'], copy)
    graph = copy / 'selector.onnx'
    graph.write_bytes(graph.read_bytes()[:500])  # a copy cut short
    with pytest.raises(ValueError, match=r'selector\.onnx: ONNX Runtime cannot load it'):
        OnnxPlateReader(str(copy))
    assert onnx_reader_main([str(copy), 'x.png']) == 2
    shutil.copy(gru_export['out'] / 'selector.onnx', graph)
    manifest = json.loads((copy / MANIFEST).read_text())
    for broken, message in ((dict(manifest, decoder=None), "no 'decoder' section"),
                            ({k: v for k, v in manifest.items() if k != 'input'},
                             "no 'input'"),
                            (dict(manifest, input=dict(manifest['input'],
                                                       interpolation='lanczos')),
                             "interpolation 'lanczos' is not one of"),
                            (dict(manifest, scales=[]), "'scales' must list")):
        (copy / MANIFEST).write_text(json.dumps(broken))
        with pytest.raises(ValueError, match=message):
            OnnxPlateReader(str(copy))
    (copy / MANIFEST).write_text(json.dumps(manifest))
    for bad in (0, -5, '100', True, float('nan')):
        with pytest.raises(ValueError, match='max_pixels must be a number >= 1 or None'):
            OnnxPlateReader(str(copy), max_pixels=bad)
    # as PlateRecognizer takes it (a service journey: 4e6 was refused here only)
    assert OnnxPlateReader(str(copy), max_pixels=4e6).max_pixels == 4_000_000
    assert OnnxPlateReader(str(copy), max_pixels=float('inf')).max_pixels is None


def test_an_opset_newer_than_onnx_knows_is_an_argument_error(capsys):
    """torch's exporter wrote opset 18 for --opset 99, and the manifest said 99."""
    newest = onnx.defs.onnx_opset_version()
    tool = load_script('tools/deployment/export_onnx.py')
    assert tool.parse_args(['c.py', 'w.pth', '--out-dir', 'x', '--opset', str(newest)])
    with pytest.raises(SystemExit) as info:
        tool.parse_args(['c.py', 'w.pth', '--out-dir', 'x', '--opset', str(newest + 1)])
    assert info.value.code == 2
    assert f'--opset {newest + 1} is newer than the installed onnx package knows (up to ' \
        f'{newest})' in capsys.readouterr().err


def test_onnx_throughput_times_every_graph_of_its_own_models_export_only(gru_export, tmp_path,
                                                                          capsys):
    tool = load_script('benchmarks/onnx_throughput.py')
    model = [gru_export['config'], gru_export['checkpoint']]
    out = tmp_path / 'figures.json'
    assert tool.main([str(gru_export['out']), *model, '--batch-size', '4', '--repeats', '1',
                      '--threads', '1', '--json', str(out)]) == 0
    figures = json.loads(out.read_text())
    assert sorted(figures['scales']) == ['0.4', '0.6', '1'] and 'end_to_end' in figures
    capsys.readouterr()

    def refused(export, *model_args) -> str:
        assert tool.main([str(export), *model_args, '--batch-size', '4', '--repeats',
                          '1']) == 2
        return capsys.readouterr().err
    assert 'no dld_onnx.json' in refused(tmp_path / 'nothing', *model)
    int8 = tmp_path / 'int8'
    shutil.copytree(gru_export['out'], int8)
    manifest = json.loads((int8 / MANIFEST).read_text())
    (int8 / MANIFEST).write_text(json.dumps(dict(manifest, precision='int8')))
    assert 'is an int8 export: give the float one' in refused(int8, *model)
    # an export whose input is made otherwise (another colour type or aspect-ratio
    # handling) was timed as this model's
    other = dict(manifest, input=dict(manifest['input'], color_type='grayscale',
                                      keep_ratio=not manifest['input']['keep_ratio']))
    (int8 / MANIFEST).write_text(json.dumps(other))
    said = refused(int8, *model)
    assert "its input is made otherwise: color_type 'grayscale' (the model: " in said
    assert f"keep_ratio {not manifest['input']['keep_ratio']!r} (the model: " in said
    # another model of the same input and characters: a CTC export, or another
    # architecture (its graphs' costs), timed as this one's, its int8 export too
    (int8 / MANIFEST).write_text(json.dumps(dict(manifest, decoder=dict(
        manifest['decoder'], kind='ctc', blank_idx=manifest['decoder']['end_idx']))))
    assert 'its decoder is ctc, the model\'s attention' in refused(int8, *model)
    wider = dict(manifest, scales=[dict(e, gflops=2 * e['gflops']) for e in manifest['scales']])
    (int8 / MANIFEST).write_text(json.dumps(wider))
    assert 'GFLOPs, the model' in refused(int8, *model)
    (int8 / MANIFEST).write_text(json.dumps(dict(wider, precision='int8')))
    said = refused(gru_export['out'], *model, '--int8-dir', str(int8))
    assert f'--int8-dir {int8} is not an export of ' in said and 'another architecture' in said
    # a plain recognizer's export against the DLD config
    cfg = baseline_config(osp.join(str(tmp_path), 'data'))
    plain = _write_model(str(tmp_path / 'plain'), cfg, 'baseline')
    assert _export(plain, tmp_path / 'plain_export', '--no-check') == 0
    capsys.readouterr()
    assert f"is not an export of {gru_export['config']}: its graphs are ['recognizer_1.onnx']" \
        in refused(tmp_path / 'plain_export', *model)
    assert "the config's model is a plain recognizer" in refused(
        gru_export['out'], plain['config'], plain['checkpoint'])


def test_force_onto_a_link_replaces_the_folder_it_points_to(gru_export, tmp_path):
    versions = tmp_path / 'versions'
    shutil.copytree(gru_export['out'], versions / 'v1')
    (versions / 'current').symlink_to('v1')
    with _graphs_taken_from(gru_export['out']):  # where the export goes is the test's
        assert _export(gru_export, versions / 'current', '--force', '--no-check',
                       '--cfg-options', 'model.test_cfg.force_scale=0.4') == 0
    assert os.readlink(versions / 'current') == 'v1'  # still the link it was
    assert OnnxPlateReader(str(versions / 'current')).scales == [0.4]
    assert sorted(os.listdir(versions)) == ['current', 'v1']  # nothing left aside


def test_a_model_that_does_not_load_leaves_no_folder(gru_export, tmp_path, capsys):
    tool = load_script('tools/deployment/export_onnx.py')
    assert tool.main([gru_export['config'], str(tmp_path / 'missing.pth'),
                      '--out-dir', str(tmp_path / 'new' / 'deep' / 'x')]) == 2
    assert 'cannot load the model' in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_a_terminated_export_leaves_no_partial_folder(gru_export, tmp_path):
    """SIGTERM (a job's time limit) ends it as Ctrl-C does: cleaned up."""
    script = ("import os, runpy, signal, sys\n"
              "import dld.deploy.onnx_export as export\n"
              "export.export_onnx = lambda *a, **k: os.kill(os.getpid(), signal.SIGTERM)\n"
              "sys.argv = ['export_onnx.py'] + sys.argv[1:]\n"
              "runpy.run_path('tools/deployment/export_onnx.py', run_name='__main__')\n")
    out = tmp_path / 'exports' / 'x'
    done = subprocess.run([sys.executable, '-c', script, gru_export['config'],
                           gru_export['checkpoint'], '--out-dir', str(out), '--no-check'],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 128 + 15, done.stderr
    assert os.listdir(tmp_path / 'exports') == []


@pytest.mark.parametrize('given, needs', [
    (['--int8-max-drop', '1'], '--int8-max-drop only with --int8'),  # the default, given
    (['--calib-count', '256'], '--calib-count only with --int8'),
    (['--no-check', '--check-count', '8'], '--check-count only with a check'),
    (['--no-check', '--check-images', 'a.png'], '--check-images only with a check')])
def test_an_option_given_for_nothing_is_an_argument_error(given, needs, capsys):
    tool = load_script('tools/deployment/export_onnx.py')
    with pytest.raises(SystemExit) as info:
        tool.parse_args(['c.py', 'w.pth', '--out-dir', 'x', *given])
    assert info.value.code == 2 and needs in capsys.readouterr().err
    args = tool.parse_args(['c.py', 'w.pth', '--out-dir', 'x', '--int8'])
    assert (args.calib_count, args.int8_max_drop) == (tool.CALIB_COUNT, tool.INT8_MAX_DROP)


def test_the_readers_copies_of_the_track_folder_rules_are_dlds():
    """The reader imports no DLD, so it keeps copies: they must not drift."""
    from dld.datasets.lrlpr_track_dataset import no_lr_frames, track_frame
    from dld.datasets.transforms.loading import IMAGE_EXTENSIONS
    from dld.deploy import onnx_reader
    assert onnx_reader.IMAGE_EXTENSIONS == IMAGE_EXTENSIONS
    # the reader's own copies of DLD's limits (it imports no DLD)
    from dld.datasets.lrlpr_track_dataset import MAX_TRACK_ANNOTATION
    from dld.datasets.transforms.loading import DEFAULT_MAX_PIXELS
    assert onnx_reader.MAX_TRACK_ANNOTATION == MAX_TRACK_ANNOTATION
    assert onnx_reader.DEFAULT_MAX_PIXELS == DEFAULT_MAX_PIXELS
    names = ['lr-001.bmp', 'HR-2.jpg', 'lr_001.png', 'lr-3.gif', 'hr-004.png', 'a.txt']
    assert [onnx_reader._track_frame(n) for n in names] == [track_frame(n) for n in names]
    for listing in (names[2:3], names[4:], ['a.txt'], ['x.png', 'y.png', 'z.png', 'w.png'],
                    ['lr_001.png', 'hr-001.png']):
        assert onnx_reader._no_lr_frames(listing) == no_lr_frames(listing)


@pytest.mark.parametrize('content', [b'{"plate_text": "A"}', b'\xef\xbb\xbf{"plate_text": ""}',
                                     b'{"images": []}', b'[1]', b'{bad', b'\xe9t\xe9',
                                     b'{"plate_text": "' + b'x' * 70000 + b'"}'])
def test_the_reader_tells_track_folders_as_dld_does(tmp_path, content):
    from dld.datasets.lrlpr_track_dataset import is_track_folder
    from dld.deploy import onnx_reader
    (tmp_path / 'annotations.json').write_bytes(content)
    names = ['annotations.json', 'img.png']
    assert onnx_reader._is_track_folder(str(tmp_path), names) == \
        is_track_folder(str(tmp_path), names)


def test_the_staging_folder_of_a_killed_export_is_removed_by_the_next(tmp_path, capsys):
    """kill -9 left '.x.partial-XXXX' (a graph's size) that nothing removed,
    and its --int8 float copy ('...XXXX.float'), and a dead export of
    another name in the same folder was left for good; a running export's
    folder (its process alive), or one of another machine's export to a
    shared folder, is left alone."""
    import subprocess as sp
    tool = load_script('tools/deployment/export_onnx.py')
    dead = sp.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                  capture_output=True, text=True).stdout.strip()
    here = tool._staging_prefix('x').rsplit('-', 2)[0]  # '.x.partial-HOST'
    stale = tmp_path / f'{here}-{dead}-ab12cd'
    running = tmp_path / f'{here}-{os.getpid()}-ef34gh'
    float_copy = tmp_path / f'{here}-{dead}-ab12cd.float'
    other = tmp_path / f".y{here[2:]}-{dead}-ij56kl"  # another export's name: ...
    other_old = tmp_path / f".z{here[2:]}-{dead}-qr90st"  # ... removed once hours old
    elsewhere = tmp_path / f'.x.partial-otherhost-{dead}-mn78op'
    mine = tmp_path / 'x'  # the export itself, and a folder of another kind
    for folder in (stale, running, float_copy, other, other_old, elsewhere, mine):
        folder.mkdir()
        (folder / 'student_s1.onnx').write_bytes(b'x')
    hours_ago = other_old.stat().st_mtime - tool.OTHER_STAGING_AGE_S - 60
    os.utime(other_old, (hours_ago, hours_ago))
    tool._remove_stale_staging(str(tmp_path), 'x')
    assert not stale.exists() and not float_copy.exists() and not other_old.exists()
    # a container sharing the hostname may be writing it: its pid is not ours to judge
    assert other.exists()
    assert running.exists() and elsewhere.exists() and mine.exists()
    said = capsys.readouterr().err
    for gone in (stale, float_copy, other_old):
        assert f'removed {gone}, left by an export that was stopped' in said


def test_on_windows_a_staging_folder_s_process_is_never_signalled(tmp_path, monkeypatch):
    """os.kill(pid, 0) is TerminateProcess on Windows: a stale folder's pid,
    reused by another program, ended it; one gone was a traceback."""
    tool = load_script('tools/deployment/export_onnx.py')

    def kill(*args):
        raise AssertionError('a process was signalled')

    monkeypatch.setattr(os, 'kill', kill)
    monkeypatch.setattr(tool, 'ON_WINDOWS', True)
    here = tool._staging_prefix('x').rsplit('-', 2)[0]
    kept = tmp_path / f'{here}-4242-ab12cd'
    kept.mkdir()
    tool._remove_stale_staging(str(tmp_path), 'x')
    assert kept.exists()  # the system cannot be asked here (no kernel32): kept, said nothing


def test_the_reader_refuses_a_fifo_or_a_device(gru_export, tmp_path):
    """np.fromfile waited on a FIFO for ever and read /dev/zero until memory
    ran out (a review)."""
    reader = OnnxPlateReader(str(gru_export['out']))
    fifo = tmp_path / 'frame.png'
    os.mkfifo(fifo)
    out = reader([str(fifo), '/dev/zero'])
    assert [r['error'] for r in out] == ['not a regular file (a FIFO, a device), not an image '
                                         'file'] * 2


def test_a_jpeg_too_large_by_its_header_is_refused_before_decoding(gru_export, tmp_path,
                                                                   monkeypatch):
    """Only a PNG's header was read: a 1 KB JPEG declaring 30000x30000 was
    decoded to 5.4 GB before it was refused (a security recheck)."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.new('RGB', (60, 20)).save(buf, 'JPEG')
    data = bytearray(buf.getvalue())
    sof = data.find(b'\xff\xc0')  # the frame header: height, then width
    data[sof + 5:sof + 9] = (30000).to_bytes(2, 'big') * 2
    path = tmp_path / 'forged.jpg'
    path.write_bytes(bytes(data))
    decoded = []
    monkeypatch.setattr(cv2, 'imdecode', lambda *a: decoded.append(1))
    [out] = OnnxPlateReader(str(gru_export['out']))(str(path))
    assert 'image of 30000x30000 pixels exceeds the limit of' in out['error'] and not decoded
    # the device install of docs/deployment.md has no Pillow: refused there too
    # (only a PNG's header was read without it: 2.4 GB decoded)
    monkeypatch.setitem(sys.modules, 'PIL', None)
    for fmt, (w, h) in (('jpg', (30000, 30000)), ('bmp', (40000, 20000))):
        if fmt == 'bmp':
            data = bytearray(cv2.imencode('.bmp', np.zeros((2, 3, 3), np.uint8))[1].tobytes())
            data[18:26] = w.to_bytes(4, 'little') + (-h).to_bytes(4, 'little', signed=True)
            path = tmp_path / 'forged.bmp'
            path.write_bytes(bytes(data))
        [out] = OnnxPlateReader(str(gru_export['out']))(str(path))
        assert f'image of {w}x{h} pixels exceeds the limit of' in out['error'], out
    assert not decoded


def test_an_os2_bitmap_is_sized_by_its_16_bit_header():
    """A BMP's core header (OS/2, 12 bytes) holds 16-bit sizes: read as the
    32-bit ones of the usual header, a 60x20 bitmap was 1310780x1572865."""
    import struct

    from dld.deploy.onnx_reader import _header_size
    w, h = 60, 20
    pixels = bytes(((w * 3 + 3) & ~3) * h)
    core = struct.pack('<IHHHH', 12, w, h, 1, 24)
    offset = 14 + len(core)
    data = b'BM' + struct.pack('<IHHI', offset + len(pixels), 0, 0, offset) + core + pixels
    buf = np.frombuffer(data, np.uint8)
    assert cv2.imdecode(buf, cv2.IMREAD_COLOR).shape == (h, w, 3)
    assert _header_size(buf) == (w * h, f'{w}x{h}')


def test_a_config_reading_a_set_on_disk_is_checked_and_calibrated_on_its_own_images(
        tiny_run, tmp_path, capsys):
    """A word model was checked (and calibrated) on generated plates, which
    it read as mostly empty: the match said little. A config whose sets are
    on disk (not the built-in generator's) is checked on its test images,
    calibrated on its training images."""
    from argparse import Namespace

    from dld.apis import load_config
    tool = load_script('tools/deployment/export_onnx.py')
    assert tool.main([tiny_run['config'], tiny_run['student'], '--out-dir',
                      str(tmp_path / 'export'), '--check-count', '5']) == 0
    assert "checked on 5 LR frames of the config's test set" in capsys.readouterr().out
    cfg = load_config(tiny_run['config'])
    images, labels, what = tool._config_set_images(cfg, 'test', 'lr', 100)
    assert what == "12 LR frames of the config's test set"  # 6 tracks of 2 frames
    assert len(images) == len(labels) == 12 and all(labels)
    args = Namespace(calib_images=None, calib_count=7)
    assert tool._calibration_images(args, 'hr', cfg)[1] == '7 generated HR plates'  # no set
    cfg.train_dataloader = dict(dataset=dict(type='PairedPlateDataset',
                                             data_root=tiny_run['data'], ann_file='train.txt'))
    calibration, calib_what = tool._calibration_images(args, 'hr', cfg)
    assert calib_what == "7 HR frames of the config's train set" and len(calibration) == 7
    # the set as the config reads it: a label file in a folder of data_root,
    # its paths relative to data_root (re-read as an inference label file,
    # relative to its own folder, none was found)
    data = tmp_path / 'data'
    (data / 'splits').mkdir(parents=True)
    (data / 'test').symlink_to(osp.join(tiny_run['data'], 'test'))
    shutil.copy(osp.join(tiny_run['data'], 'test.txt'), data / 'splits' / 'test.txt')
    cfg.test_dataloader.dataset.update(data_root=str(data), ann_file='splits/test.txt')
    assert tool._config_set_images(cfg, 'test', 'lr', 100)[2] == \
        "12 LR frames of the config's test set"
    # a config that renders the generator's plates keeps them; one that only
    # inherits `synth_plates` (docs/datasets.md's own-data configs) reads its own
    cfg.synth_plates = dict(data_root=str(data))
    assert tool._config_set_images(cfg, 'test', 'lr', 5) is None
    cfg.synth_plates = dict(data_root='data/synth_plates')
    assert tool._config_set_images(cfg, 'test', 'lr', 5)[2] == \
        "5 LR frames of the config's test set"


def test_providers_are_one_name_or_a_list_and_each_available_here(gru_export):
    """A string was split into one-letter providers (20 warnings, then ONNX
    Runtime's error banners), and CUDA without CUDA read on the CPU without
    a word (a service journey)."""
    import onnxruntime as ort
    out = str(gru_export['out'])
    reader = OnnxPlateReader(out, providers='CPUExecutionProvider')
    assert all(s.get_providers() == ['CPUExecutionProvider'] for s in reader._sessions.values())
    OnnxPlateReader(out, providers=[('CPUExecutionProvider', {})])
    if 'CUDAExecutionProvider' not in ort.get_available_providers():
        with pytest.raises(ValueError, match='providers: CUDAExecutionProvider is not available '
                           r'here \(ONNX Runtime has .*onnxruntime-gpu'):
            OnnxPlateReader(out, providers=['CUDAExecutionProvider'])
    with pytest.raises(ValueError, match='providers: 3 is no execution provider'):
        OnnxPlateReader(out, providers=[3])


def test_pickling_the_reader_is_refused_saying_to_build_one_per_worker(gru_export):
    import pickle
    with pytest.raises(TypeError, match='OnnxPlateReader cannot be pickled or copied .*build '
                       'one in each worker process'):
        pickle.dumps(OnnxPlateReader(str(gru_export['out'])))


def test_force_replaces_an_export_alone_and_keeps_what_is_beside_it(gru_export, tmp_path,
                                                                    capsys):
    """--force removed a folder's other files with its export, without a
    word, and a failed check's rmtree took any DIR.unverified (a security
    review)."""
    tool = load_script('tools/deployment/export_onnx.py')
    out = tmp_path / 'out'
    shutil.copytree(gru_export['out'], out)
    assert tool._out_dir_problem(str(out), force=True) == ''  # the export's own files only
    (out / 'NOTES.md').write_text('mine')
    assert tool._out_dir_problem(str(out), force=True) == (
        f'--out-dir {out} holds files that are not of its export (NOTES.md): --force replaces '
        'the export alone; move them, or give another folder')
    assert _export(gru_export, out, '--force', '--no-check') == 2
    assert (out / 'NOTES.md').read_text() == 'mine'
    # a failed check's export goes beside a DIR.unverified that is not one
    (tmp_path / 'out.unverified').mkdir()
    (tmp_path / 'out.unverified' / 'keep.txt').write_text('mine')
    staging = tmp_path / 'staging'
    shutil.copytree(gru_export['out'], staging)
    tool._leave_unverified(str(staging), str(out), 'a check failed')
    assert (tmp_path / 'out.unverified' / 'keep.txt').read_text() == 'mine'
    beside = [p for p in os.listdir(tmp_path) if p.startswith('out.unverified-')]
    assert len(beside) == 1 and (tmp_path / beside[0] / MANIFEST).is_file()
    assert f'it is left in {tmp_path / beside[0]}' in capsys.readouterr().err
