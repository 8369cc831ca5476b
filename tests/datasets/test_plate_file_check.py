"""Missing images are found when the dataset is built, where no substitute is
allowed, so a run stops before it trains rather than at its first validation."""
import re
from unittest import mock

import pytest

from dld.datasets import ImageLoadError, PairedPlateDataset

PIPELINE = [dict(type='LoadPlateImages'), dict(type='ResizePair'), dict(type='PackPlateInputs')]
HR_PIPELINE = [dict(type='LoadPlateImages', with_lr=False, with_hr=True),
               dict(type='ResizePair'), dict(type='PackPlateInputs', main_stream='hr')]


def dataset(root, **kw):
    kw.setdefault('pipeline', PIPELINE)
    return PairedPlateDataset(data_root=str(root), ann_file='train.txt', seed=0, **kw)


def test_test_mode_refuses_a_missing_image_when_built_naming_it_and_its_line(paired_root):
    (paired_root / 't1' / 'lr-2.png').unlink()
    with pytest.raises(ImageLoadError) as info:
        dataset(paired_root, test_mode=True, frames='all')
    msg = str(info.value)
    assert info.value.path == str(paired_root / 't1' / 'lr-2.png')
    # Six LR frames are read in test mode (HR is not loaded there).
    assert '1 of the 6 image(s)' in msg, msg
    assert re.search(r'lr-2\.png \(.*train\.txt:2\)', msg), msg
    assert 'check_files=False' in msg


def test_a_folder_where_an_image_is_listed_is_missing_too(paired_root):
    import shutil
    image = paired_root / 't1' / 'lr-2.png'
    image.unlink()
    image.mkdir()  # it would fail only when read
    with pytest.raises(ImageLoadError, match=r'1 of the 6 image\(s\)') as info:
        dataset(paired_root, test_mode=True, frames='all')
    assert info.value.path == str(image)
    assert 'train.txt:2, is a folder)' in str(info.value), str(info.value)
    shutil.rmtree(image)


def test_a_fifo_where_an_image_is_listed_is_named_as_one_not_as_missing(paired_root):
    import os
    image = paired_root / 't1' / 'lr-2.png'
    image.unlink()
    os.mkfifo(image)  # reading it would hang: refused, and said for what it is
    with pytest.raises(ImageLoadError, match=r'1 of the 6 image\(s\)') as info:
        dataset(paired_root, test_mode=True, frames='all')
    assert info.value.path == str(image)
    assert 'train.txt:2, is a FIFO (named pipe))' in str(info.value), str(info.value)


def test_an_empty_image_file_is_refused_when_built(paired_root):
    """A 0-byte validation frame stopped a run after its first training
    epoch (an own-data journey): the check that finds missing files finds it."""
    image = paired_root / 't1' / 'lr-2.png'
    image.write_bytes(b'')
    with pytest.raises(ImageLoadError, match=r'1 of the 6 image\(s\) its pipeline reads do not '
                       r'exist, are no files or are empty') as info:
        dataset(paired_root, test_mode=True, frames='all')
    assert info.value.path == str(image)
    assert 'train.txt:2, empty: 0 bytes)' in str(info.value), str(info.value)


def test_a_missing_image_there_in_another_unicode_form_is_said_so(paired_root):
    """A label file typed in NFC naming files a Mac wrote in NFD."""
    import unicodedata
    name = unicodedata.normalize('NFD', 'lr-2ü.png')
    (paired_root / 't1' / 'lr-2.png').rename(paired_root / 't1' / name)
    text = (paired_root / 'train.txt').read_text()
    (paired_root / 'train.txt').write_text(text.replace('t1/lr-2.png', 't1/lr-2\u00fc.png'))
    with pytest.raises(ImageLoadError, match=r'1 of the 6 image\(s\)') as info:
        dataset(paired_root, test_mode=True, frames='all')
    assert '; it is there spelt in Unicode form NFD' in str(info.value)


def test_every_frame_of_a_random_frame_track_is_checked(paired_root):
    # 'random' reads any of a track's frames, so each must be there.
    (paired_root / 't0' / 'lr-1.png').unlink()
    with pytest.raises(ImageLoadError, match=r'1 of the 6 image\(s\)'):
        dataset(paired_root, test_mode=True, frames='random')


def test_the_check_follows_what_the_pipeline_reads(paired_root):
    # The teacher's HR pipeline never opens the LR frame: its absence is fine ...
    (paired_root / 't0' / 'lr-0.png').unlink()
    ds = dataset(paired_root, test_mode=True, load_hr=True, frames='first',
                 pipeline=HR_PIPELINE)
    assert ds[0]['inputs'].shape[0] == 3
    # ... but a missing HR frame is not.
    (paired_root / 't1' / 'hr-0.png').unlink()
    with pytest.raises(ImageLoadError, match=r'1 of the 2 image\(s\).*: \S*hr-0\.png'):
        dataset(paired_root, test_mode=True, load_hr=True, frames='first',
                pipeline=HR_PIPELINE)


def test_train_mode_keeps_substituting_unless_asked_to_check(paired_root):
    for k in range(3):
        (paired_root / 't1' / f'hr-{k}.png').unlink()
    ds = dataset(paired_root, frames='first')
    assert not ds.check_files and ds.max_retry == 5
    with mock.patch('dld.datasets.base_plate_dataset.print_log'):
        assert ds[1]['data_samples'].track_id == 't0'
    # Asked, train mode checks LR and HR, and lists every missing file.
    with pytest.raises(ImageLoadError, match=r'3 of the 12 image\(s\)') as info:
        dataset(paired_root, frames='all', check_files=True)
    assert all(f'hr-{k}.png' in str(info.value) for k in range(3))


def test_a_long_list_is_cut_with_a_count(paired_root):
    for t in ('t0', 't1'):
        for k in range(3):
            (paired_root / t / f'lr-{k}.png').unlink()
    with pytest.raises(ImageLoadError) as info:
        dataset(paired_root, test_mode=True, frames='all')
    msg = str(info.value)
    assert '6 of the 6 image(s)' in msg
    with pytest.raises(ImageLoadError, match=r'\.\.\. and 2 more'):
        ds = dataset(paired_root, test_mode=True, frames='all', check_files=False)
        ds._check_files_exist(shown=4)


def test_test_mode_with_retries_allowed_does_not_check(paired_root):
    (paired_root / 't0' / 'lr-0.png').unlink()
    ds = dataset(paired_root, test_mode=True, frames='first', max_retry=2)
    assert not ds.check_files
    with mock.patch('dld.datasets.base_plate_dataset.print_log'):
        assert ds[0]['data_samples'].track_id == 't1'


def test_backslash_paths_of_a_windows_label_file_get_a_hint(paired_root):
    ann = paired_root / 'train.txt'
    ann.write_text(ann.read_text().replace('/', '\\'))
    with pytest.raises(ImageLoadError, match=r"backslashes: a label file written on Windows\? "
                                             r"Write them with '/'"):
        dataset(paired_root, test_mode=True, frames='all')


def test_backslash_paths_get_the_hint_in_training_too(paired_root):
    """Training retries unreadable images instead of checking them when the
    set is built: its RetryExhaustedError said nothing of the backslashes."""
    from dld.datasets import RetryExhaustedError
    ann = paired_root / 'train.txt'
    ann.write_text(ann.read_text().replace('/', '\\'))
    ds = PairedPlateDataset(data_root=str(paired_root), ann_file='train.txt', frames='first',
                            pipeline=[dict(type='LoadPlateImages')], seed=0)
    with mock.patch('dld.datasets.base_plate_dataset.print_log'), \
            pytest.raises(RetryExhaustedError, match=r"backslashes: a label file written on "
                                                     r"Windows\? Write them with '/'"):
        ds[0]
