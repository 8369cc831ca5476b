"""A validation set that holds the training set's images (a val_dataloader
left on train.txt) is warned of before training: it validated, and picked
best.pth, on the images trained on, without a word."""
from mmengine.dataset import BaseDataset, ConcatDataset

from dld.engine.hooks.track_ids_check_hook import frames_trained_on


class _Items(BaseDataset):
    def __init__(self, items, **kwargs):
        self._items = items
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        return [dict(item) for item in self._items]


def _set(split, n, hr=True):
    return _Items([dict(lr_paths=[f'{split}/t{i}/lr.png'],
                        hr_paths=[f'{split}/t{i}/hr.png'] if hr else None) for i in range(n)])


def test_a_validation_set_on_the_training_split_is_said():
    # the validation pipeline loads no HR frames: the LR paths alone match
    said = frames_trained_on(_set('train', 4), _set('train', 2, hr=False))
    assert said.startswith('shares 2 of its 2 image(s) with the training set')


def test_a_held_out_validation_set_says_nothing():
    assert frames_trained_on(ConcatDataset([_set('train', 4), _set('extra', 2)]),
                             _set('val', 2)) == ''


def test_plate_sets_of_one_label_file_are_said_and_of_two_splits_not(tmp_path):
    """Read as the sets list their items (listed_info: no deep copy each),
    the validation set's LR frames against the training set's."""
    from dld.datasets import PairedPlateDataset, ensure_synth_plates
    root = str(tmp_path / 'plates')
    ensure_synth_plates(root, tracks=3, val_tracks=2, test_tracks=1, frames=2, seed=0)

    def plates(ann, **kwargs):
        return PairedPlateDataset(data_root=root, ann_file=ann, pipeline=[], **kwargs)

    train = plates('train.txt', load_hr=True)
    said = frames_trained_on(train, plates('train.txt', test_mode=True))
    assert said.startswith('shares 6 of its 6 image(s) with the training set, e.g. '
                           f'{root}/train/track_')
    assert frames_trained_on(train, plates('val.txt', test_mode=True)) == ''
