"""tools/analysis/compare_degradation.py: figures that follow the degradation's
parameters, and the tool on a folder, a label file and rendered frames."""
import json

import cv2
import numpy as np
import pytest
from repo_scripts import load_script

from dld.datasets.degradation import DegradationConfig, degrade_plate
from dld.datasets.synth.generator import render_track, resolve_layouts

PLAIN = dict(perspective=0, blur_prob=0, noise_sigma=(0, 0), jpeg_quality=None, gray_prob=0,
             darken=(1, 1), scale=(0.3, 0.3))


def _tool():
    return load_script('tools/analysis/compare_degradation.py')


def _frames(n=12, **params):
    layouts, weights = resolve_layouts(('brazilian', 'mercosur'), None)
    cfg = DegradationConfig.from_dict(dict(PLAIN, **params))
    return [degrade_plate(render_track((5, i), layouts, weights, 1, (64, 192), cfg,
                                       with_lr=False)['hr'][0], np.random.default_rng(i), cfg)
            for i in range(n)]


def _median(tool, frames, key):
    return float(np.median([tool.image_stats(f)[key] for f in frames]))


def test_the_figures_follow_blur_noise_and_jpeg():
    tool = _tool()
    sharp = [_median(tool, _frames(blur_prob=1, motion_blur_prob=0, gaussian_sigma=(s, s)),
                     'sharpness') for s in (0, 2, 4)]
    assert sharp[0] > sharp[1] > sharp[2]
    noise = [_median(tool, _frames(noise_sigma=(n, n)), 'noise') for n in (0, 6, 12)]
    assert noise[0] < noise[1] < noise[2]
    assert 8 < noise[2] < 14  # grey levels
    blocks = [_median(tool, _frames(jpeg_quality=(q, q)), 'blockiness') for q in (95, 5)]
    assert blocks[1] > blocks[0] + 0.2


def test_a_jpeg_file_s_quality_is_read_from_its_table(tmp_path):
    tool = _tool()
    img = _frames(1)[0]
    for q in (20, 50, 90):
        path = str(tmp_path / f'q{q}.jpg')
        cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, q])
        assert tool.jpeg_file_quality(path) == q
    png = str(tmp_path / 'a.png')
    cv2.imwrite(png, img)
    assert tool.jpeg_file_quality(png) is None


def test_the_tool_on_a_folder_a_label_file_and_rendered_frames(tmp_path, capsys):
    tool = _tool()
    cam = tmp_path / 'cam'
    cam.mkdir()
    for i, f in enumerate(_frames(6, noise_sigma=(10, 10))):
        cv2.imwrite(str(cam / f'c{i}.png'), f)
    (tmp_path / 'trk').mkdir()
    for i, f in enumerate(_frames(4)):
        cv2.imwrite(str(tmp_path / 'trk' / f'lr-{i}.png'), f)
        cv2.imwrite(str(tmp_path / 'trk' / f'hr-{i}.png'), f)  # not read: lr-* only
    (tmp_path / 'l.txt').write_text('# a comment\ntrk/lr-0.png,trk/lr-1.png|trk/hr-0.png,'
                                    'trk/hr-1.png\tABC1234\n', encoding='utf-8')
    sheet, out = str(tmp_path / 's.png'), str(tmp_path / 'f.json')
    tool.main([f'real={cam}', str(tmp_path / 'trk'), f'lab={tmp_path / "l.txt"}',
               '--render', '5', '--degradation', '{"noise_sigma": [10, 10]}',
               '--sheet', sheet, '--json', out])
    text = capsys.readouterr().out
    assert 'real (6)' in text and 'trk (4)' in text and 'lab (2)' in text
    assert 'render (5)' in text
    figures = json.load(open(out, encoding='utf-8'))
    assert figures['real']['noise']['median'] > figures['trk']['noise']['median']
    assert cv2.imread(sheet) is not None


@pytest.mark.parametrize('args, said', [
    (['--render', '3', '--degradation', '{"gaussian_sigma": [-1, 0]}'], 'gaussian_sigma'),
    (['--render', '3', '--degradation', '[1]'], 'JSON object'),
    (['nowhere/'], 'no such folder'),
    ([], 'at least one set'),
])
def test_bad_arguments_are_refused_naming_them(args, said, capsys):
    with pytest.raises(SystemExit) as exit_:
        _tool().main(args)
    assert said in (str(exit_.value.code) + capsys.readouterr().err)


@pytest.mark.parametrize('value, said', [
    ('{"gaussian_sigma": [-1, 0]}', 'gaussian_sigma'),
    ('{"scale": [0.5, 2]}', 'scale'),
    ('{"bogus": 1}', "['bogus']"),
    ('{"gaussian_sigma": "x"}', 'gaussian_sigma'),
])
def test_a_bad_degradation_value_is_a_bad_argument_exit_2(value, said, capsys):
    """A --degradation value DegradationConfig refuses exits 2, as argparse's
    other refusals (and make_synth_plates.py's) do, before any set is read;
    it was exit 1 after the real sets had been read."""
    with pytest.raises(SystemExit) as exit_:
        _tool().main(['nowhere-read/', '--render', '3', '--degradation', value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    line = err.splitlines()[-1]
    assert 'error: --degradation: ' in line and said in line


def test_a_label_file_the_sets_refuse_is_named_as_such_in_one_line(tmp_path):
    """An empty label file was said to be a bad --degradation, which was not
    given; a missing image was a traceback."""
    (tmp_path / 'empty.txt').write_text('')
    (tmp_path / 'gone.txt').write_text('missing/lr-1.png\tABC1234\n')
    for name in ('empty.txt', 'gone.txt'):
        with pytest.raises(SystemExit) as exit_:
            _tool().main([f'mine={tmp_path / name}'])
        said = str(exit_.value.code)
        assert said.startswith(f'compare_degradation.py: set mine ({tmp_path / name}): ')
        assert '--degradation' not in said and '\n' not in said


def test_crops_are_decoded_as_training_decodes_them(tmp_path):
    """A 16-bit file of 8-bit values reads as it is in training; the tool's
    own cv2.imread read it black (brightness 0), and walked hidden folders."""
    tool = _tool()
    eight, sixteen = tmp_path / 'eight', tmp_path / 'sixteen'
    for folder in (eight, sixteen, sixteen / '.ipynb_checkpoints'):
        folder.mkdir()
    img = _frames(1)[0]
    cv2.imwrite(str(eight / 'a.png'), img)
    cv2.imwrite(str(sixteen / 'a.png'), img.astype(np.uint16))
    cv2.imwrite(str(sixteen / '.ipynb_checkpoints' / 'b.png'), img)
    assert tool.set_paths(str(sixteen)) == [str(sixteen / 'a.png')]
    a = tool.parse_args([str(eight), str(sixteen)])
    figures = [tool.read_set(name, path, a)[1] for name, path in a.sets]
    assert figures[0]['brightness'] == figures[1]['brightness']
