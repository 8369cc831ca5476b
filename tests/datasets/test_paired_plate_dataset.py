"""PairedPlateDataset: the label format, frame policy, modes and bad lines."""
import re
import shutil
from unittest import mock

import pytest

from dld.datasets import PairedPlateDataset, PlateAnnotationError

GOOD = 't0/lr-0.png,t0/lr-1.png,t0/lr-2.png|t0/hr-0.png,t0/hr-1.png,t0/hr-2.png\tABC1234'


def make(root, ann, **kw):
    return PairedPlateDataset(data_root=str(root), ann_file=ann, **kw)


def test_good_lines_give_one_item_per_frame_with_all(paired_root):
    ds = make(paired_root, 'train.txt', frames='all')
    assert len(ds) == 6
    info = ds.get_data_info(4)
    assert info['gt_text'] == 'XYZ9A87'
    assert info['track_id'] == 't1' and info['frame_idx'] == 1
    assert info['lr_path'] == str(paired_root / 't1' / 'lr-1.png')
    assert info['hr_path'] == str(paired_root / 't1' / 'hr-1.png')


def test_random_policy_gives_one_item_per_track_and_pairs_lr_with_hr(paired_root):
    ds = make(paired_root, 'train.txt', frames='random', seed=0)
    assert len(ds) == 2
    for _ in range(5):
        info = ds.get_data_info(0)
        k = info['frame_idx']
        assert info['lr_path'].endswith(f'lr-{k}.png') and info['hr_path'].endswith(f'hr-{k}.png')


@pytest.mark.parametrize('frames,expected', [('first', 0), (2, 2)])
def test_fixed_frame_policies(paired_root, frames, expected):
    ds = make(paired_root, 'train.txt', frames=frames)
    assert len(ds) == 2
    assert ds.get_data_info(1)['frame_idx'] == expected


def test_frame_index_beyond_track_is_an_error(paired_root):
    with pytest.raises(PlateAnnotationError,
                       match=r'train.txt:1: frames=3 asked \(an index from 0\).* 0 to 2'):
        make(paired_root, 'train.txt', frames=3)


def test_eval_mode_loads_hr_only_when_asked(paired_root):
    ds = make(paired_root, 'train.txt', frames='all', test_mode=True)
    assert ds.get_data_info(0)['hr_path'] is None
    ds = make(paired_root, 'train.txt', frames='all', test_mode=True, load_hr=True)
    assert ds.get_data_info(0)['hr_path'].endswith('hr-0.png')


def test_lr_only_line_is_valid_in_eval_mode(paired_root, write_labels):
    ann = write_labels(paired_root, 't0/lr-0.png,t0/lr-1.png\tabc1234')
    ds = make(paired_root, ann, frames='all', test_mode=True)
    assert len(ds) == 2
    assert ds.get_data_info(0)['gt_text'] == 'ABC1234'  # normalised by the dictionary


HR_READER = [dict(type='LoadPlateImages', with_lr=False, with_hr=True)]


def test_hr_only_line_is_read_by_a_set_that_reads_hr(paired_root, write_labels):
    # HR crops alone, e.g. to evaluate a teacher: '|hr1,hr2<TAB>TEXT'.
    ann = write_labels(paired_root, '|t0/hr-0.png,t0/hr-1.png\tABC1234')
    ds = make(paired_root, ann, frames='all', test_mode=True, load_hr=True, pipeline=HR_READER)
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert info['lr_path'] is None and info['hr_path'] == str(paired_root / 't0' / 'hr-1.png')
    assert info['track_id'] == 't0' and info['frame_idx'] == 1
    assert ds[1]['img_hr'].shape[:2] == (40, 120) and ds[1].get('img') is None


@pytest.mark.parametrize('kwargs', [
    dict(test_mode=True),  # HR not loaded
    dict(test_mode=True, load_hr=True,  # the default loader reads LR
         pipeline=[dict(type='LoadPlateImages', with_hr=True)]),
    dict(test_mode=False, pipeline=[dict(type='LoadPlateImages', with_hr=True)]),
], ids=['no-hr', 'reads-lr', 'train-reads-lr'])
def test_hr_only_line_is_refused_where_lr_is_read(paired_root, write_labels, kwargs):
    ann = write_labels(paired_root, GOOD + '\n|t1/hr-0.png\tXYZ9A87')
    with pytest.raises(PlateAnnotationError, match=r':2: HR-only track.*give its LR frames'):
        make(paired_root, ann, frames='all', **kwargs)


def test_lr_only_line_is_an_error_in_train_mode(paired_root, write_labels):
    ann = write_labels(paired_root, 't0/lr-0.png\tABC1234')
    with pytest.raises(PlateAnnotationError, match=r'labels.txt:1: LR-only'):
        make(paired_root, ann)


def test_metainfo_carries_the_dictionary_chars(paired_root):
    chars = 'ABCXYZ0123456789'
    ds = make(paired_root, 'train.txt', dictionary=dict(type='Dictionary', chars=chars))
    assert ds.metainfo['chars'] == chars


@pytest.mark.parametrize('bad,message', [
    ('t0/lr-0.png|t0/hr-0.png', 'no TAB'),
    ('t0/lr-0.png|t0/hr-0.png\t', 'empty label'),
    ('t0/lr-0.png|t0/hr-0.png\tAB-123', "outside the dictionary"),
    ('t0/lr-0.png,t0/lr-1.png|t0/hr-0.png\tABC1234', '2 LR frames but 1 HR'),
    ('t0/lr-0.png|t0/hr-0.png|x.png\tABC1234', "more than one '|'"),
    ('t0/lr-0.png,,t0/lr-1.png|t0/hr-0.png,t0/hr-1.png,t0/hr-2.png\tABC1234', 'empty LR'),
])
def test_each_malformed_line_is_reported_with_file_and_line(paired_root, write_labels, bad,
                                                            message):
    ann = write_labels(paired_root, '# a comment', GOOD, '', bad)
    with pytest.raises(PlateAnnotationError, match=message) as err:
        make(paired_root, ann)
    assert err.value.where.endswith('labels.txt:4')


def test_non_strict_skips_and_counts_bad_lines_with_one_warning(paired_root, write_labels):
    ann = write_labels(paired_root, GOOD, 'garbage', GOOD.replace('ABC1234', 'ÄBC'),
                       GOOD.replace('t0/', 't1/'))
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        ds = make(paired_root, ann, strict=False, frames='first')
    assert len(ds) == 2
    assert ds.num_bad_annotations == 2
    assert log.call_count == 1
    message = log.call_args.args[0]
    assert 'skipped 2 bad' in message and 'labels.txt:2' in message and 'labels.txt:3' in message


def test_a_tab_after_the_label_is_no_second_column(paired_root, write_labels):
    """A spreadsheet's empty last column was refused as 'more than one TAB'."""
    ann = write_labels(paired_root, GOOD + '\t', GOOD.replace('t0/', 't1/') + '\tXYZ')
    with pytest.raises(PlateAnnotationError, match=r'labels\.txt:2: more than one TAB'):
        make(paired_root, ann)
    ds = make(paired_root, write_labels(paired_root, GOOD + '\t \t'), frames='first')
    assert ds.get_data_info(0)['gt_text'] == 'ABC1234'


def test_a_line_listing_another_lines_frames_is_refused_in_test_mode_naming_both(
        paired_root, write_labels):
    """A line pasted twice was scored twice without a word."""
    ann = write_labels(paired_root, GOOD, GOOD.replace('t0/', 't1/'), GOOD)
    with pytest.raises(PlateAnnotationError,
                       match=rf"labels.txt:3: frame {paired_root / 't0' / 'lr-0.png'} is listed "
                             r'already, by .*labels.txt:1: a test set would read and score it '
                             r'twice'):
        make(paired_root, ann, test_mode=True)
    # skipped and counted with strict=False, the first listing kept
    ds = make(paired_root, ann, test_mode=True, strict=False, frames='first')
    assert len(ds) == 2 and ds.num_bad_annotations == 1


def test_a_line_repeated_in_training_is_said_as_the_first_line_listing_it(paired_root,
                                                                          write_labels):
    """The third copy was said to repeat the second, not the first line."""
    ann = write_labels(paired_root, GOOD, GOOD, GOOD)
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        assert len(make(paired_root, ann, frames='first')) == 3
    message = log.call_args.args[0]
    assert re.search(r'labels.txt:2 \(as \S*labels.txt:1\), \S*labels.txt:3 \(as '
                     r'\S*labels.txt:1\)', message)


def test_a_linked_test_frame_is_the_file_it_links_to(paired_root, write_labels):
    """Frames resolve folder by folder (a realpath each was half of building
    a large test set): a link to a file is still that file."""
    import os
    os.symlink(paired_root / 't0' / 'lr-0.png', paired_root / 't1' / 'copy-0.png')
    linked = GOOD.replace('t0/lr-0.png', 't1/copy-0.png').replace('t0/', 't1/')
    ann = write_labels(paired_root, GOOD, linked)
    with pytest.raises(PlateAnnotationError, match=r'labels.txt:2: frame .*t0.*lr-0.png is '
                       r'listed already, by .*labels.txt:1'):
        make(paired_root, ann, test_mode=True, frames='all')


def test_a_frame_a_test_line_lists_twice_is_refused_in_test_mode(paired_root, write_labels):
    """It was read and scored twice (a security review); one HR frame for
    every LR frame of a track is no repeat."""
    lr = paired_root / 't0' / 'lr-0.png'
    hr = paired_root / 't0' / 'hr-0.png'
    twice = write_labels(paired_root, f'{lr},{lr}|{hr},{hr}\tABC1234')
    with pytest.raises(PlateAnnotationError, match=rf'labels.txt:1: frame {lr} is listed twice '
                       r'in this track: a test set would read and score it twice'):
        make(paired_root, twice, test_mode=True, frames='all')
    assert len(make(paired_root, twice, test_mode=True, frames='first')) == 1  # read once
    assert len(make(paired_root, twice, frames='all')) == 2  # training: twice, as listed
    lr1 = paired_root / 't0' / 'lr-1.png'
    one_hr = write_labels(paired_root, f'{lr},{lr1}|{hr},{hr}\tABC1234')
    assert len(make(paired_root, one_hr, test_mode=True, frames='all')) == 2


def test_a_repeated_training_line_is_read_more_often_and_said(paired_root, write_labels):
    """Repeating a line is a way to read a track more often: kept, and said."""
    ann = write_labels(paired_root, GOOD, GOOD.replace('t0/', 't1/'), GOOD)
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        ds = make(paired_root, ann, frames='first')
    assert len(ds) == 3
    [said] = [c.args[0] for c in log.call_args_list]
    assert said.startswith(f'PairedPlateDataset: 1 track(s) list the frames of an earlier one: '
                           f'{ann}:3 (as {ann}:1)')


def test_the_same_frames_under_another_label_are_refused_in_any_mode(paired_root,
                                                                    write_labels):
    """One of the two labels a misread whatever the model reads."""
    ann = write_labels(paired_root, GOOD, GOOD.replace('ABC1234', 'XYZ9A87'))
    for test_mode in (False, True):
        with pytest.raises(PlateAnnotationError, match=r"with another label \('ABC1234', here "
                                                       r"'XYZ9A87'\)"):
            make(paired_root, ann, test_mode=test_mode)


def test_tracks_sharing_an_hr_frame_are_two_tracks(paired_root, write_labels):
    """Several degradations of one HR image, each its own LR frames."""
    shared = GOOD.replace('t0/lr', 't1/lr').replace('ABC1234', 'ABC1234')
    ann = write_labels(paired_root, GOOD, shared)
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        ds = make(paired_root, ann, test_mode=True, frames='first')
    assert len(ds) == 2 and not log.call_args_list


def test_an_hr_frame_under_another_label_is_refused_or_skipped(paired_root, write_labels):
    """Other LR frames, the same HR image, two labels: one is a misread."""
    other = GOOD.replace('t0/lr', 't1/lr').replace('ABC1234', 'XYZ9A87')
    ann = write_labels(paired_root, GOOD, other)
    for test_mode in (False, True):
        with pytest.raises(PlateAnnotationError, match=rf"{ann}:2: HR frame .*t0.*hr-0.png is "
                           rf"listed already, by {ann}:1, with another label \('ABC1234', here "
                           r"'XYZ9A87'\)"):
            make(paired_root, ann, test_mode=test_mode)
    with mock.patch('dld.datasets.base_plate_dataset.print_log'):
        ds = make(paired_root, ann, strict=False, frames='first')
    assert [ds.get_data_info(i)['gt_text'] for i in range(len(ds))] == ['ABC1234']
    assert [str(e) for e in ds.annotation_problems()] == [
        f"{ann}:2: HR frame {paired_root / 't0' / 'hr-0.png'} is listed already, by {ann}:1, "
        "with another label ('ABC1234', here 'XYZ9A87'); give each frame one label (the HR "
        'frames of another plate, listed by mistake?)']


def test_a_test_hr_frame_under_another_label_through_a_linked_folder_is_refused(
        paired_root, write_labels):
    """t2 -> t0: the LR frames compared resolved in test mode, the HR ones
    as written, so the same HR file under two labels passed."""
    import os
    os.symlink(paired_root / 't0', paired_root / 't2')
    other = GOOD.replace('t0/lr', 't1/lr').replace('t0/hr', 't2/hr').replace('ABC1234',
                                                                           'XYZ9A87')
    ann = write_labels(paired_root, GOOD, other)
    with pytest.raises(PlateAnnotationError, match=rf"{ann}:2: HR frame .*t0.*hr-0.png is "
                       rf"listed already, by {ann}:1, with another label"):
        make(paired_root, ann, test_mode=True)


def test_labels_written_in_lower_case_are_upper_cased_with_one_warning(paired_root,
                                                                        write_labels):
    lines = [GOOD.replace('ABC1234', text).replace('t0/', f't{i}/')
             for i, text in enumerate(['abc1234', 'XYZ9A87', 'Xyz9a87'])]
    shutil.copytree(paired_root / 't0', paired_root / 't2')
    ann = write_labels(paired_root, *lines)
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        ds = make(paired_root, ann, frames='first')
    assert [ds.get_data_info(i)['gt_text'] for i in range(3)] == ['ABC1234', 'XYZ9A87',
                                                                  'XYZ9A87']
    [call] = log.call_args_list
    assert call.args[0] == (
        f"PairedPlateDataset: 2 label(s) hold lower case, read upper-cased by its "
        f"case-insensitive dictionary: {ann}:1 'abc1234', {ann}:3 'Xyz9a87'. To keep case, "
        'give the dataset and the decoders a case-sensitive dictionary (docs/datasets.md, '
        '"Words and other text").')
    # A case-sensitive dictionary keeps them as written, and says nothing.
    with mock.patch('dld.datasets.base_plate_dataset.print_log') as log:
        ds = make(paired_root, write_labels(paired_root, lines[0]), frames='first',
                  dictionary=dict(type='Dictionary', case_sensitive=True, chars='abc1234'))
    assert ds.get_data_info(0)['gt_text'] == 'abc1234' and not log.called


def test_missing_label_file_says_how_to_make_the_synth_set(tmp_path):
    with pytest.raises(FileNotFoundError, match='make_synth_plates'):
        make(tmp_path, 'nope.txt')


def test_a_byte_order_mark_does_not_become_part_of_the_first_path(paired_root):
    (paired_root / 'bom.txt').write_bytes(b'\xef\xbb\xbf' + (GOOD + '\n').encode())
    ds = make(paired_root, 'bom.txt', frames='first')
    info = ds.get_data_info(0)
    assert info['track_id'] == 't0'
    assert info['lr_path'] == str(paired_root / 't0' / 'lr-0.png')


def test_a_line_that_is_not_utf8_is_a_bad_line_naming_file_and_line(paired_root):
    latin1 = GOOD.replace('t0/', 't1/').replace('ABC1234', 'XYZ9A87').encode() + b' \xe9\n'
    (paired_root / 'latin1.txt').write_bytes((GOOD + '\n').encode() + latin1)
    with pytest.raises(PlateAnnotationError, match='not valid UTF-8') as err:
        make(paired_root, 'latin1.txt')
    assert err.value.where.endswith('latin1.txt:2')
    ds = make(paired_root, 'latin1.txt', strict=False, frames='first')
    assert len(ds) == 1 and ds.num_bad_annotations == 1


@pytest.mark.parametrize('encoding', ['utf-16', 'utf-16-le'])
def test_a_utf16_label_file_is_refused_whole_naming_the_encoding(paired_root, encoding):
    """Excel's "Unicode Text": each of its lines was another error (25 junk
    ones for a 12-line file with strict=False)."""
    (paired_root / 'u16.txt').write_text(GOOD + '\n', encoding=encoding)
    for strict in (True, False):
        with pytest.raises(PlateAnnotationError, match=r'u16\.txt:1: the file is not UTF-8 text '
                                                       r'\(it (starts with a UTF-16 byte-order '
                                                       r'mark|holds NUL bytes).*save it as UTF-8'):
            make(paired_root, 'u16.txt', strict=strict)


def _vote_tracks(dataset):
    """TrackAccuracyMetric over ``dataset`` read through its pipeline, predictions = labels."""
    from dld.evaluation import TrackAccuracyMetric
    metric = TrackAccuracyMetric()
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        sample.pred_text, sample.pred_score = sample.gt_text, 1.0
        metric.process({}, [sample.to_dict()])
    return metric.evaluate(len(dataset))


@pytest.mark.parametrize('prefixes', [('', ''), ('cam1/', 'cam2/')])
def test_two_sets_with_the_same_track_ids_are_kept_apart_by_a_prefix(
        paired_root, tmp_path, prefixes):
    import shutil

    from mmengine.dataset import ConcatDataset
    other = tmp_path / 'other'
    shutil.copytree(paired_root, other)  # same relative layout: ids t0, t1 again
    pipeline = [dict(type='LoadPlateImages'), dict(type='ResizePair'),
                dict(type='PackPlateInputs')]
    sets = [make(root, 'train.txt', frames='all', test_mode=True, pipeline=pipeline,
                 track_prefix=prefix) for root, prefix in zip((paired_root, other), prefixes)]
    both = ConcatDataset(sets)
    if not prefixes[0]:
        repeated = r"track 't0' has frame\(s\) \[0, 1, 2\].*track_prefix"
        with pytest.raises(ValueError, match=repeated):
            _vote_tracks(both)
        return
    assert sets[1].get_data_info(0)['track_id'] == 'cam2/t0'
    res = _vote_tracks(both)
    assert res['track/num_tracks'] == 4 and res['track/num_frames'] == 12
    assert res['track/accuracy'] == 1.0


def test_track_prefix_must_be_a_string(paired_root):
    with pytest.raises(TypeError, match='track_prefix'):
        make(paired_root, 'train.txt', track_prefix=1)


def test_a_label_file_without_tracks_is_an_error_naming_it(paired_root, write_labels):
    path = write_labels(paired_root, '# only a comment', '')
    with pytest.raises(PlateAnnotationError,
                       match=r'labels\.txt: PairedPlateDataset found no track to read\. The '
                             r'label file holds no track line'):
        PairedPlateDataset(data_root=str(paired_root), ann_file=path)


def test_a_label_file_of_bad_lines_only_says_they_were_skipped(paired_root, write_labels):
    path = write_labels(paired_root, 'no tab here', 't0/lr-0.png\t')
    with pytest.raises(PlateAnnotationError, match=r'found no track to read \(2 bad '
                                                   r'annotation\(s\) skipped with strict=False'):
        PairedPlateDataset(data_root=str(paired_root), ann_file=path, strict=False,
                           test_mode=True)


def test_a_pipeline_that_must_read_hr_from_a_set_without_it_fails_when_built(paired_root):
    # Built as a validation set would be, before training; read only after an epoch.
    hr_pipeline = [dict(type='LoadPlateImages', with_lr=False, with_hr=True),
                   dict(type='ResizePair'), dict(type='PackPlateInputs', main_stream='hr')]
    with pytest.raises(ValueError, match=r'LoadPlateImages\(with_hr=True\).*Set load_hr=True'):
        make(paired_root, 'train.txt', frames='all', test_mode=True, pipeline=hr_pipeline)
    ds = make(paired_root, 'train.txt', frames='all', test_mode=True, load_hr=True,
              pipeline=hr_pipeline)
    assert ds[0]['inputs'].shape == (3, 48, 144)


def test_indices_that_select_nothing_name_the_set(paired_root):
    # MMEngine's serialisation failed with "need at least one array to concatenate"
    with pytest.raises(ValueError, match=r'train\.txt\): indices=0 selects no item'):
        make(paired_root, 'train.txt', frames='all', indices=0)


def test_a_test_frame_listed_again_through_a_linked_folder_is_one_frame(paired_root,
                                                                       write_labels):
    """t2 -> t0 passed the repeated-frame check, which compared paths as
    written: the frame was scored twice (a security recheck)."""
    import os
    os.symlink(paired_root / 't0', paired_root / 't2')
    ann = write_labels(paired_root, GOOD, GOOD.replace('t0/', 't2/'))
    with pytest.raises(PlateAnnotationError, match=r"labels.txt:2: frame .*t0.*lr-0.png is "
                       r'listed already, by .*labels.txt:1'):
        make(paired_root, ann, test_mode=True)
    assert len(make(paired_root, ann, frames='first')) == 2  # training: read as listed


def _frames_drawn(dataset, epochs=2):
    """Per epoch, the 'random' frame of each item as the loader's two workers
    read them (batches of 4, worker by worker)."""
    import torch
    from torch.utils.data import DataLoader
    torch.manual_seed(0)  # the run's seed, which gives each worker its own
    loader = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=lambda items: items)
    return [[item['frame_idx'] for batch in loader for item in batch] for _ in range(epochs)]


def test_random_frames_of_a_seeded_set_differ_between_workers_and_epochs(paired_root):
    """Each worker held a copy of the one seeded generator: every worker drew
    the same frames, and every epoch again (a data audit)."""
    lines = (paired_root / 'train.txt').read_text().splitlines()
    (paired_root / 'many.txt').write_text('\n'.join(lines * 20) + '\n')
    dataset = make(paired_root, 'many.txt', frames='random', seed=1)
    first, second = _frames_drawn(dataset)
    assert first[:4] != first[4:8]  # worker 0's first batch, worker 1's
    assert first != second
    assert _frames_drawn(dataset) == [first, second]  # the same run seed draws the same


def test_lr_and_hr_frames_listed_in_other_orders_are_refused(paired_root):
    """lr-0,lr-1|hr-1,hr-0 paired each LR frame with the other HR frame,
    without a word (a data audit); names that are no frames pair by place."""
    (paired_root / 'swapped.txt').write_text(
        't0/lr-0.png,t0/lr-1.png|t0/hr-1.png,t0/hr-0.png\tABC1234\n')
    with pytest.raises(PlateAnnotationError, match=r'swapped.txt:1: .*t0/lr-0.png is paired '
                       r'with .*t0/hr-1.png \(frames 0 and 1\)'):
        make(paired_root, 'swapped.txt', frames='all')
    assert len(make(paired_root, 'train.txt', frames='all')) == 6
    # cameras offset on purpose, one LR frame against several HR frames: kept (a review)
    (paired_root / 'offset.txt').write_text(
        't0/lr-1.png,t0/lr-2.png|t0/hr-0.png,t0/hr-1.png\tABC1234\n'
        't1/lr-2.png,t1/lr-2.png,t1/lr-2.png|t1/hr-0.png,t1/hr-1.png,t1/hr-2.png\tXYZ9A87\n')
    assert len(make(paired_root, 'offset.txt', frames='all')) == 5


def test_a_seeded_evaluation_set_reads_the_same_random_frames_every_time(paired_root):
    """Validation epochs compare: each item's frame is the seed's, whatever
    the loader's workers (a review)."""
    import shutil
    lines = []
    for t in range(40):  # tracks of their own: a test set reads each once
        shutil.copytree(paired_root / 't0', paired_root / f'c{t}')
        lines.append(','.join(f'c{t}/lr-{k}.png' for k in range(3)) + '|'
                     + ','.join(f'c{t}/hr-{k}.png' for k in range(3)) + '\tABC1234')
    (paired_root / 'many.txt').write_text('\n'.join(lines) + '\n')
    dataset = make(paired_root, 'many.txt', frames='random', seed=1, test_mode=True,
                   load_hr=True)
    first, second = _frames_drawn(dataset)
    assert first == second and len(set(first)) > 1
    assert [dataset.get_data_info(i)['frame_idx'] for i in range(len(dataset))] == first
