"""report.json's per_image block: keys, bits, pairing two reports, paired rows."""
import json

import numpy as np
import pytest

from dld.evaluation.paired_bootstrap import paired_difference
from dld.evaluation.per_image import (
    PairingError,
    align,
    bits,
    image_key,
    paired_rows,
    per_image_block,
    read_block,
    report_json_text,
)

KEYS = [f't{i // 2}/f{i % 2}.png' for i in range(8)]
LABELS = [f'ABC{i // 2}' for i in range(8)]
TRACKS = [f't{i // 2}' for i in range(8)]


def _block(rows, keys=KEYS, labels=LABELS, tracks=TRACKS):
    return per_image_block(keys, labels, tracks, rows, case_sensitive=False)


def test_an_image_is_keyed_by_its_path_under_its_data_root_else_track_and_frame():
    meta = dict(lr_path='/data/plates/test/t0/lr-001.png', track_id='test/t0', frame_idx=0)
    assert image_key(meta, 3, ['/data', '/data/plates']) == 'test/t0/lr-001.png'
    assert image_key(meta, 3, ['/elsewhere']) == '/data/plates/test/t0/lr-001.png'
    assert image_key(dict(track_id='t9', frame_idx=2), 3, []) == 't9#2'
    assert image_key({}, 3, []) == 'image 3'


def test_two_sets_of_one_layout_key_their_images_apart_by_set_name():
    """A concatenation of two cameras' sets, each with test/t0/lr-001.png:
    keyed alike, a report of the sets in the other order was paired image
    against another image (the n-th occurrence of a key)."""
    day = dict(lr_path='/data/day/test/t0/lr-001.png', set_name='day')
    night = dict(lr_path='/data/night/test/t0/lr-001.png', set_name='night')
    roots = ['/data/day', '/data/night']
    assert image_key(day, 0, roots, several_sets=True) == 'day/test/t0/lr-001.png'
    assert image_key(night, 1, roots, several_sets=True) == 'night/test/t0/lr-001.png'
    assert image_key(day, 0, roots) == 'test/t0/lr-001.png'  # one set: as before


def test_bits_of_a_row_that_read_some_images_only_have_a_dash_for_the_rest():
    assert bits([True, False], KEYS[:2], KEYS[:2]) == '10'
    assert bits([True, False], [KEYS[5], KEYS[1]], KEYS) == '-0---1--'
    assert bits([True], ['not there'], KEYS) is None


def test_a_block_reads_back_and_its_lists_are_one_line_each():
    report = dict(methods=[dict(method='a')], per_image=_block({'a': '10110100', 'x': None}))
    text = report_json_text(report)
    assert json.loads(text) == report
    assert sum('t0/f0.png' in line for line in text.splitlines()) == 1
    assert report['per_image']['tracks'] == [[f't{i}', 2] for i in range(4)]
    block = read_block(json.loads(text))
    assert block['tracks'] == TRACKS and block['right'] == {'a': '10110100'}
    assert read_block(dict(methods=[])) is None  # an older report
    broken = json.loads(text)
    broken['per_image']['right']['a'] = '101'  # hand-edited
    assert read_block(broken) is None


def test_two_reports_pair_by_key_in_any_order_and_refuse_other_images_or_labels():
    a = read_block(dict(per_image=_block({'m': '11110000'})))
    order = [1, 0, 3, 2, 5, 4, 7, 6]
    b = read_block(dict(per_image=_block(
        {'m': ''.join('11100000'[i] for i in order)}, [KEYS[i] for i in order],
        [LABELS[i] for i in order], [TRACKS[i] for i in order])))
    pairs = align(a, b, 'A', 'B')
    assert [b['images'][j] for _, j in pairs] == a['images']
    other = read_block(dict(per_image=_block({'m': '1' * 8}, keys=KEYS[:7] + ['t9/f0.png'])))
    with pytest.raises(PairingError, match=r'1 only in A \(first: t3/f1.png\); 1 only in B'):
        align(a, other, 'A', 'B')
    relabelled = read_block(dict(per_image=_block({'m': '1' * 8}, labels=LABELS[:7] + ['X'])))
    with pytest.raises(PairingError, match='label them otherwise'):
        align(a, relabelled, 'A', 'B')


def test_paired_rows_bootstrap_over_tracks_the_images_both_read():
    rng = np.random.default_rng(1)
    n = 60
    tracks = [f't{i // 3}' for i in range(n)]
    a = rng.random(n) < 0.7
    b = rng.random(n) < 0.5
    sa = ''.join('1' if x else '0' for x in a)
    sb = '---' + ''.join('1' if x else '0' for x in b[3:])  # one track not read by b
    found = paired_rows(sa, sb, tracks)
    direct = paired_difference(a[3:], b[3:], tracks[3:])
    assert found['difference'] == pytest.approx(a[3:].mean() - b[3:].mean())
    assert (found['low'], found['high']) == (direct['low'], direct['high'])
    assert found['groups'] == 19 and found['images'] == 57 and found['not_read'] == 3
    assert found['only_a'] == int((a[3:] & ~b[3:]).sum())
    # an independent bootstrap over tracks: the same draws, summed track by track
    picks = np.random.default_rng(0).integers(0, 19, size=(2000, 19))
    per_track = [(a[3 + 3 * t:6 + 3 * t].astype(float) - b[3 + 3 * t:6 + 3 * t]).sum()
                 for t in range(19)]
    means = [sum(per_track[t] for t in p) / (3 * len(p)) for p in picks]
    assert found['low'] == pytest.approx(np.quantile(means, 0.025))
    assert found['high'] == pytest.approx(np.quantile(means, 0.975))
