"""The synthetic-plate generator: determinism, labels and layouts."""
import filecmp
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

from dld.datasets import PairedPlateDataset
from dld.datasets.synth import (
    ensure_synth_plates,
    generate_synth_plates,
    resolve_layout,
    sample_plate_text,
    text_matches,
)

SMALL = dict(tracks=3, val_tracks=1, test_tracks=1, frames=2, progress=False)


def tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def test_same_seed_gives_same_bytes_and_other_seed_differs(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate_synth_plates(a, seed=7, **SMALL)
    generate_synth_plates(b, seed=7, **SMALL)
    generate_synth_plates(c, seed=8, **SMALL)
    files = tree(a)
    assert files == tree(b) and len(files) == 5 * (2 * 2 + 1) + 4
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors
    assert open(os.path.join(a, 'train.txt')).read() != open(os.path.join(c, 'train.txt')).read()


def test_labels_follow_the_layouts_and_the_split_files_load(tmp_path):
    out = str(tmp_path / 's')
    stats = generate_synth_plates(out, seed=0, layouts=('brazilian', 'mercosur', 'AA-NNN'),
                                  **dict(SMALL, tracks=12))
    assert stats['tracks'] == dict(train=12, val=1, test=1) and stats['images'] == 56
    texts = []
    for split in ('train', 'val', 'test'):
        ds = PairedPlateDataset(data_root=out, ann_file=f'{split}.txt', frames='all')
        texts += [ds.get_data_info(i)['gt_text'] for i in range(0, len(ds), 2)]
    assert len(set(texts)) == len(texts) == 14  # unique across splits
    assert all(any(text_matches(t, p) for p in ('LLL-NNNN', 'LLLNLNN', 'AA-NNN')) for t in texts)


def test_patterns():
    rng = np.random.default_rng(0)
    label, display = sample_plate_text('LLL-NNNN', rng)
    assert len(label) == 7 and display == f'{label[:3]}-{label[3:]}'
    assert text_matches(label, 'LLLNNNN') and not text_matches(label, 'LLLNLNN')
    assert text_matches(sample_plate_text('LLLNLNN', rng)[0], 'LLLNLNN')
    assert resolve_layout('Mercosur') == ('mercosur', 'LLLNLNN')


def test_label_chars_are_every_character_a_pattern_can_draw():
    from dld.datasets.synth import label_chars
    assert label_chars('NN-NN') == '0123456789'
    assert label_chars('LLL-NNNN') == '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    assert label_chars('BR-NN') == '0123456789BR'  # printed letters are in the label too
    rng = np.random.default_rng(0)
    assert all(set(sample_plate_text('BR-NA', rng)[0]) <= set(label_chars('BR-NA'))
               for _ in range(50))


def test_hr_and_lr_sizes_are_realistic(tmp_path):
    import cv2
    out = str(tmp_path / 's')
    generate_synth_plates(out, seed=1, **SMALL)
    hr = cv2.imread(os.path.join(out, 'train/track_00000/hr-001.png'))
    lr = cv2.imread(os.path.join(out, 'train/track_00000/lr-001.png'))
    assert hr.shape == (64, 192, 3)
    assert 0.15 * 192 - 1 <= lr.shape[1] <= 0.35 * 192 + 1


def test_ensure_generates_only_when_split_files_are_missing(tmp_path):
    root = str(tmp_path / 'synth')
    assert ensure_synth_plates(root, seed=0, **SMALL) is True
    assert ensure_synth_plates(root, seed=0, **SMALL) is False
    os.remove(os.path.join(root, 'val.txt'))
    assert ensure_synth_plates(root, seed=0, **SMALL) is True
    assert ensure_synth_plates(root, seed=0, **SMALL) is False


def test_a_set_already_in_the_folder_is_refused_or_replaced_whole(tmp_path):
    import json
    out = str(tmp_path / 's')
    generate_synth_plates(out, seed=0, **SMALL)
    (tmp_path / 's' / 'notes.txt').write_text('mine')
    before = tree(out)
    with pytest.raises(FileExistsError, match=r's already holds a plate set \(train, val, test,'):
        generate_synth_plates(out, seed=5, **dict(SMALL, frames=1))
    with pytest.raises(FileExistsError, match=r'other arguments \(frames 2 on disk vs 1; seed 0 '
                       r'on disk vs 5\) or not whole'):
        generate_synth_plates(out, seed=5, **dict(SMALL, frames=1))
    assert tree(out) == before  # refused before anything was written
    generate_synth_plates(out, seed=5, **dict(SMALL, frames=1), overwrite=True)
    fresh = str(tmp_path / 'fresh')
    generate_synth_plates(fresh, seed=5, **dict(SMALL, frames=1))
    # no frame of the old set is left beside the new one (hr-002 was the old set's)
    assert tree(out) == sorted(tree(fresh) + ['notes.txt'])
    assert json.loads((tmp_path / 's' / 'meta.json').read_text())['seed'] == 5


def test_the_same_set_again_is_left_as_it_is(tmp_path):
    out = str(tmp_path / 's')
    assert generate_synth_plates(out, seed=0, **SMALL)['rendered'] is True
    stamps = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in tree(out)}
    assert generate_synth_plates(out, seed=0, **SMALL)['rendered'] is False
    assert {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in tree(out)} == stamps


def test_generators_started_at_once_in_one_folder_take_turns(tmp_path):
    """The second must not discard the first one's staging folder under it."""
    import threading

    from dld.datasets.synth import generator
    out = str(tmp_path / 's')
    started, results = threading.Event(), {}
    real = generator.make_track

    def slow_track(*args):
        started.set()
        threading.Event().wait(0.05)
        return real(*args)

    def run(name, **kwargs):
        try:
            results[name] = generate_synth_plates(out, **SMALL, **kwargs)['rendered']
        except FileExistsError as err:
            results[name] = err

    with mock.patch.object(generator, 'make_track', slow_track):
        first = threading.Thread(target=run, args=('first', ), kwargs=dict(seed=0))
        first.start()
        started.wait(10)
        run('same', seed=0)  # waits for the first, then finds its set whole
        run('other', seed=1)
        first.join()
    assert results['first'] is True and results['same'] is False
    assert isinstance(results['other'], FileExistsError)
    fresh = str(tmp_path / 'fresh')
    generate_synth_plates(fresh, seed=0, **SMALL)
    assert tree(out) == tree(fresh)


def test_an_interrupted_run_leaves_no_split_a_dataset_would_read(tmp_path):
    from dld.datasets import LRLPRTrackDataset
    from dld.datasets.synth import generator
    out = str(tmp_path / 's')
    real = generator.make_track
    calls = []

    def dies_on_the_third_track(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    with mock.patch.object(generator, 'make_track', dies_on_the_third_track):
        with pytest.raises(KeyboardInterrupt):
            generate_synth_plates(out, seed=0, **SMALL)
    assert os.listdir(out) == [generator.STAGING_DIR]  # two tracks, out of sight
    with pytest.raises(Exception, match='train'):
        LRLPRTrackDataset(data_root=os.path.join(out, 'train'), pipeline=[])
    assert ensure_synth_plates(out, seed=0, **SMALL) is True  # the rerun is not refused
    fresh = str(tmp_path / 'fresh')
    generate_synth_plates(fresh, seed=0, **SMALL)
    assert tree(out) == tree(fresh)
    assert all(filecmp.cmp(os.path.join(out, f), os.path.join(fresh, f), shallow=False)
               for f in tree(out))


def test_ensure_refuses_a_folder_it_did_not_make(tmp_path):
    root = tmp_path / 'synth'
    (root / 'train').mkdir(parents=True)
    (root / 'train' / 'mine.png').write_bytes(b'x')
    with pytest.raises(FileExistsError, match='synth already holds a plate set'):
        ensure_synth_plates(str(root), seed=0, **SMALL)
    assert (root / 'train' / 'mine.png').read_bytes() == b'x'


def test_a_set_missing_a_split_file_is_made_again_or_refused_not_called_missing(tmp_path):
    """A set without meta.json and a split file was logged as not found,
    then refused: the refusal is a DataSourceError the tools print in one
    line; a set this generator made is made again, and said so."""
    from dld.datasets import DataSourceError
    from dld.datasets.synth import generator
    root = tmp_path / 'synth'
    generate_synth_plates(str(root), seed=0, **SMALL)
    (root / 'test.txt').unlink()
    with mock.patch.object(generator, 'print_log') as log:
        assert ensure_synth_plates(str(root), seed=0, **SMALL) is True
    assert 'lacks test.txt: generating it again' in log.call_args_list[0].args[0]
    (root / 'test.txt').unlink()
    (root / 'meta.json').unlink()  # no longer this generator's: maybe someone's own
    with mock.patch.object(generator, 'print_log') as log:
        with pytest.raises(DataSourceError, match='synth already holds a plate set'):
            ensure_synth_plates(str(root), seed=0, **SMALL)
    assert not any('not found' in c.args[0] for c in log.call_args_list)
    assert (root / 'train.txt').exists()


def test_annotations_spell_the_layout_as_the_icpr_release(tmp_path):
    import json
    out = tmp_path / 's'
    generate_synth_plates(str(out), seed=0, layouts=('brazilian', 'mercosur', 'AA-NNN'),
                          **dict(SMALL, tracks=12))
    layouts = {json.loads(p.read_text())['plate_layout']
               for p in out.glob('*/track_*/annotations.json')}
    assert layouts == {'Brazilian', 'Mercosur', 'AA-NNN'}


@pytest.mark.slow
def test_the_cli_reports_speed_reruns_for_nothing_and_overwrites_only_when_asked(tmp_path):
    script = os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'make_synth_plates.py')
    res = subprocess.run([sys.executable, script, str(tmp_path / 'cli'), '--tracks', '2',
                          '--val-tracks', '1', '--test-tracks', '1', '--frames', '1',
                          '--seed', '3', '--no-progress'],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert 'tracks/s' in res.stdout
    assert (tmp_path / 'cli' / 'test.txt').read_text().count('\n') == 1
    # the same command again: the same bytes are there already
    again = subprocess.run(res.args, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and 'nothing rendered' in again.stdout, again.stderr
    other = [a if a != '3' else '4' for a in res.args]  # --seed 4: another set
    again = subprocess.run(other, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and '--overwrite' in again.stderr
    assert 'Traceback' not in again.stderr
    again = subprocess.run(other + ['--overwrite'], capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and 'Wrote' in again.stdout, again.stderr


@pytest.mark.parametrize('bad', [dict(layouts=('xyz', )), dict(frames=0),
                                 dict(degradation=dict(nope=1))])
def test_bad_generator_arguments_fail_loudly(tmp_path, bad):
    with pytest.raises((ValueError, KeyError)):
        generate_synth_plates(str(tmp_path / 'x'), **dict(SMALL, **bad))


def test_labels_with_printed_letters_match_their_pattern():
    rng = np.random.default_rng(0)
    label = sample_plate_text('BR-NN', rng)[0]
    assert label.startswith('BR') and text_matches(label, 'BR-NN')
    assert not text_matches('XR' + label[2:], 'BR-NN') and not text_matches(label[2:], 'BR-NN')


def _stale_warnings(log):
    return [c.args[0] for c in log.call_args_list if 'other arguments' in c.args[0]]


def test_ensure_keeps_a_set_made_otherwise_and_names_every_difference(tmp_path):
    root = str(tmp_path / 'synth')
    ensure_synth_plates(root, seed=0, **SMALL)
    with mock.patch('dld.datasets.synth.generator.print_log') as log:
        assert ensure_synth_plates(root, **dict(
            SMALL, seed=0, val_tracks=2, hr_size=(32, 96), layouts=('AA-NNN', ),
            degradation=dict(scale=(0.5, 0.5)))) is False
    (message, ) = _stale_warnings(log)
    for diff in ('tracks.val 1 on disk vs 2', 'hr_size [64, 192] on disk vs [32, 96]',
                 "layouts ['LLL-NNNN', 'LLLNLNN'] on disk vs ['AA-NNN']",
                 'degradation.scale [0.15, 0.35] on disk vs [0.5, 0.5]'):
        assert diff in message
    assert 'seed' not in message and 'frames' not in message


def test_ensure_is_quiet_for_the_same_arguments_spelled_otherwise(tmp_path):
    root = str(tmp_path / 'synth')
    ensure_synth_plates(root, seed=0, **SMALL)
    with mock.patch('dld.datasets.synth.generator.print_log') as log:
        ensure_synth_plates(root, **dict(SMALL, seed=0, hr_size=[64, 192], workers=2,
                                         layouts=['LLL-NNNN', 'Mercosur'], layout_weights=(3, 3),
                                         degradation=dict(scale=[0.15, 0.35])))
    assert _stale_warnings(log) == []


def test_ensure_with_an_unknown_argument_fails_on_an_existing_set(tmp_path):
    root = str(tmp_path / 'synth')
    ensure_synth_plates(root, seed=0, **SMALL)
    with pytest.raises(TypeError, match='nope'):
        ensure_synth_plates(root, seed=0, nope=1, **SMALL)


def test_more_tracks_than_the_layouts_have_labels_is_an_error_before_rendering(tmp_path):
    # Labels are unique across the set, so 11 tracks of 'N' (10 labels, the
    # same pattern given twice) would redraw for ever.
    with mock.patch('dld.datasets.synth.generator.make_track',
                    side_effect=AssertionError('rendered')):
        with pytest.raises(ValueError, match=r"11 tracks .* \['N'\] can draw only 10"):
            generate_synth_plates(str(tmp_path / 'x'), layouts=('N', 'N'),
                                  **dict(SMALL, tracks=9))


def test_as_many_tracks_as_labels_are_all_drawn(tmp_path):
    out = str(tmp_path / 'x')
    generate_synth_plates(out, layouts=('N', ), **dict(SMALL, tracks=8, frames=1))
    labels = [ln.split('\t')[1] for s in ('train', 'val', 'test')
              for ln in open(os.path.join(out, f'{s}.txt')).read().splitlines()]
    assert sorted(labels) == list('0123456789')


def test_track_jitter_draws_a_tracks_scale_brightness_and_grey_once():
    """As the frames of one video: a track's LR frames keep one size (within
    the jitter), one brightness and grey or colour, where by default each
    frame draws its own."""
    from dld.datasets.degradation import DegradationConfig
    from dld.datasets.synth.generator import render_track, resolve_layouts
    layouts, w = resolve_layouts(('brazilian', 'mercosur'))

    def width_spread(deg, track):
        frames = render_track((0, 0, track), layouts, w, 5, (64, 192), deg)['lr']
        widths = [f.shape[1] for f in frames]
        return max(widths) / min(widths)

    steady = [width_spread(DegradationConfig(track_jitter=0.05), t) for t in range(20)]
    free = [width_spread(DegradationConfig(), t) for t in range(20)]
    assert max(steady) <= 1.05 / 0.95 + 0.06  # the jitter, and rounding to pixels
    assert max(free) > 1.5  # per frame: far apart
    cfg = DegradationConfig(track_jitter=0.1)
    tracks = [cfg.for_track(np.random.default_rng(i)) for i in range(40)]
    assert {t.gray_prob for t in tracks} == {0.0, 1.0}  # grey or colour, per track
    for t in tracks:
        assert t.scale[1] / t.scale[0] == pytest.approx(1.1 / 0.9)
        assert t.darken[1] / t.darken[0] == pytest.approx(1.1 / 0.9)
        assert 0.15 * 0.9 <= t.scale[0] and t.scale[1] <= 0.35 * 1.1


def test_without_track_jitter_nothing_more_is_drawn_and_meta_is_as_before():
    """The default sets keep their bytes and older sets' meta.json (written
    before track_jitter existed) still matches the arguments that made them."""
    from dld.datasets.degradation import DegradationConfig
    from dld.datasets.synth.generator import synth_meta
    rng = np.random.default_rng(0)
    cfg = DegradationConfig()
    assert cfg.for_track(rng) is cfg
    assert rng.random() == np.random.default_rng(0).random()
    assert 'track_jitter' not in synth_meta()['degradation']
    assert synth_meta(degradation=dict(track_jitter=0.1))['degradation']['track_jitter'] == 0.1
    with pytest.raises(ValueError, match='track_jitter must be None or in'):
        DegradationConfig(track_jitter=1.5)


def test_a_set_made_with_track_jitter_is_not_taken_for_the_default(tmp_path, monkeypatch):
    """meta.json leaves track_jitter out at its former value (None), so the
    comparison must count it on the side that does not record it."""
    from dld.datasets.synth import generator
    warned = []
    monkeypatch.setattr(generator, 'print_log', lambda msg, **kw: warned.append(msg))
    out = str(tmp_path / 's')
    generate_synth_plates(out, seed=0, degradation=dict(track_jitter=0.05), **SMALL)
    assert ensure_synth_plates(out, seed=0, **SMALL) is False
    assert any('track_jitter 0.05 on disk vs None' in m for m in warned)
    with pytest.raises(FileExistsError):
        generate_synth_plates(out, seed=0, **SMALL)
    assert generate_synth_plates(out, seed=0, degradation=dict(track_jitter=0.05),
                                 **SMALL)['rendered'] is False


def test_a_set_with_an_unreadable_meta_json_is_kept_with_the_reason(tmp_path, monkeypatch):
    from dld.datasets.synth import generator
    warned = []
    monkeypatch.setattr(generator, 'print_log', lambda msg, **kw: warned.append(msg))
    out = tmp_path / 's'
    generate_synth_plates(str(out), seed=0, **SMALL)
    (out / 'meta.json').write_text('[1, 2]')
    assert ensure_synth_plates(str(out), seed=0, **SMALL) is False
    assert any('no readable meta.json (not a JSON object)' in m for m in warned)


def test_overlapping_layouts_count_their_labels_once(tmp_path):
    """'N' and 'A' share the digits: 36 labels, not 46. Counted as 46, 40
    tracks passed the check and the unique-label redraw never ended."""
    from dld.datasets.synth.plate_text import label_space
    assert label_space(['N', 'A']) == 36
    assert label_space(['LLLNANN', 'LLLNLNN', 'LLLNNNN']) == 26 ** 3 * 36 * 10 ** 3
    assert label_space(['BRNN', 'LLNN']) == 26 * 26 * 100 and label_space(['NN', 'N']) == 110
    with mock.patch('dld.datasets.synth.generator.make_track',
                    side_effect=AssertionError('rendered')):
        with pytest.raises(ValueError, match='40 tracks .* can draw only 36'):
            generate_synth_plates(str(tmp_path / 'x'), layouts=('N', 'A'),
                                  **dict(SMALL, tracks=38))


def test_a_pattern_printing_what_opencv_cannot_draw_is_refused():
    """OpenCV draws '?' for a character its font lacks, while the label names it."""
    from dld.datasets.synth.generator import resolve_layouts
    with pytest.raises(ValueError, match='cannot draw'):
        resolve_layouts(('\u03a9L-NN', ))  # Greek capital omega
    resolve_layouts(('BR-NN', 'LLL NNNN'))


def test_glyph_fingerprint_follows_the_fonts(monkeypatch):
    import cv2

    from dld.datasets.synth import render
    before = render.glyph_fingerprint()
    assert render.glyph_fingerprint() == before
    monkeypatch.setattr(render, '_FONTS', (cv2.FONT_HERSHEY_SIMPLEX, ) * 4)
    assert render.glyph_fingerprint() != before


def test_a_set_drawn_with_other_fonts_is_not_taken_for_this_one(tmp_path, monkeypatch):
    """OpenCV 4 and 5 draw the same seed's plates in other fonts (Hershey
    stroke fonts vs one sans face): meta.json records the glyphs, so a set made
    under the other is named, not taken for the same bytes. A set made before
    they were recorded is taken as before."""
    import json

    from dld.datasets.synth import generator
    out = tmp_path / 's'
    generate_synth_plates(str(out), seed=0, **SMALL)
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['glyphs'] == generator.glyph_fingerprint() and 'opencv' in meta
    warned = []
    monkeypatch.setattr(generator, 'print_log', lambda msg, **kw: warned.append(msg))
    monkeypatch.setattr(generator, 'glyph_fingerprint', lambda: 'other-fonts')
    assert ensure_synth_plates(str(out), seed=0, **SMALL) is False
    assert any('glyphs' in m and 'plate fonts' in m for m in warned), warned
    with pytest.raises(FileExistsError):
        generate_synth_plates(str(out), seed=0, **SMALL)
    del meta['glyphs'], meta['opencv']  # an older set's meta.json
    (out / 'meta.json').write_text(json.dumps(meta))
    warned.clear()
    assert ensure_synth_plates(str(out), seed=0, **SMALL) is False
    assert not any('other arguments' in m for m in warned), warned
    assert generate_synth_plates(str(out), seed=0, **SMALL)['rendered'] is False


def _ink_rows(plate, bg, top):
    """Runs ``(start, stop)`` of the plate rows below ``top`` that hold ink."""
    ink = (np.abs(plate.astype(int) - np.asarray(bg)).max(axis=2) > 60)[:, 10:-10].any(axis=1)
    ink[:top] = False
    ink[-4:] = False  # the border
    edges = np.flatnonzero(np.diff(np.r_[0, ink.astype(int), 0]))
    return list(zip(edges[::2], edges[1::2]))


def test_a_slash_splits_a_plate_into_two_rows_and_the_label_joins_them():
    """'LLLN/LNN' (a Mercosur motorcycle plate): top row over bottom row on a
    squarer plate; the label is the rows joined, top first."""
    from dld.datasets.synth import draw_plate, sample_style
    rng = np.random.default_rng(0)
    label, display = sample_plate_text('LLLN/LNN', rng)
    assert display == f'{label[:4]}/{label[4:]}' and text_matches(label, 'LLLN/LNN')
    style = sample_style('LLLN/LNN', rng)
    style.dirt, style.border_px = 0.0, 1
    plate = draw_plate(display, style, rng)
    assert plate.shape == (170, 200, 3)
    rows = _ink_rows(plate, style.bg, top=24)  # below the city strip
    assert len(rows) == 2, rows  # two lines of text with a gap between them
    assert all(45 <= stop - start <= 66 for start, stop in rows), rows
    one_row = draw_plate('ABC-1234', style, np.random.default_rng(0))
    assert one_row.shape == (130, 400, 3) and len(_ink_rows(one_row, style.bg, 24)) == 1


def test_two_row_layouts_make_a_set_whose_labels_join_the_rows(tmp_path):
    import json
    out = tmp_path / 's'
    generate_synth_plates(str(out), seed=0, layouts=('LLL/NNNN', 'LLLN/LNN'),
                          hr_size=(96, 112), **SMALL)
    texts = [line.split('\t')[1] for line in (out / 'train.txt').read_text().splitlines()]
    assert texts and all(len(t) == 7 and t.isalnum() for t in texts)
    assert all(text_matches(t, 'LLL/NNNN') or text_matches(t, 'LLLN/LNN') for t in texts)
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['layouts'] == ['LLL/NNNN', 'LLLN/LNN'] and meta['row_separator'] == '/'
    ann = json.loads((out / 'train/track_00000/annotations.json').read_text())
    assert '/' not in ann['plate_text'] and ann['plate_layout'] in ('LLL/NNNN', 'LLLN/LNN')
    # a one-row set's meta.json is as before: nothing recorded about rows
    generate_synth_plates(str(tmp_path / 'one'), seed=0, **SMALL)
    assert 'row_separator' not in json.loads((tmp_path / 'one/meta.json').read_text())
    # a set of a '/' pattern made before '/' split rows (it printed the '/') is not this one
    del meta['row_separator']
    (out / 'meta.json').write_text(json.dumps(meta))
    # ... and the refusal says why, though the arguments are the ones that made it
    with pytest.raises(FileExistsError, match=r"row_separator not recorded on disk: made "
                       r"before '/' split a pattern into two rows"):
        generate_synth_plates(str(out), seed=0, layouts=('LLL/NNNN', 'LLLN/LNN'),
                              hr_size=(96, 112), **SMALL)


@pytest.mark.parametrize('bad', ['LL/NN/NN', 'LLL/', '/NNN', 'LL/-'])
def test_a_layout_has_at_most_two_rows_each_with_characters(bad):
    with pytest.raises(ValueError, match='two rows'):
        resolve_layout(bad)


def test_two_row_layouts_vote_and_match_as_their_joined_label():
    from dld.evaluation.metrics import vote_track
    frames = [(0, 'ABC1234', 0.9), (1, 'ABC12345', 0.99), (2, 'ABC1234', 0.8)]
    assert vote_track(frames, layouts=('LLL/NNNN', ), method='chars') == 'ABC1234'
    assert text_matches('ABC1D23', 'LLLN/LNN') and not text_matches('ABC1234', 'LLLN/LNN')
