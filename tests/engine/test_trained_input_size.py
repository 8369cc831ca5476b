"""A run records the input size it trained at, for loaders to hold against
the size they feed (a fully convolutional model's weights fit any size)."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from dld.engine.hooks import AtomicCheckpointHook
from dld.utils.trained_input_size import batch_input_size, recorded_input_size


class _Runner:
    model = nn.Linear(1, 1)


def _recorded(*batches) -> dict:
    hook = AtomicCheckpointHook(interval=1)
    for i, batch in enumerate(batches):
        hook.before_train_iter(_Runner(), i, batch)
    checkpoint = dict(meta={})
    hook.before_save_checkpoint(_Runner(), checkpoint)
    return checkpoint['meta']


def _images(*sizes):
    return dict(inputs=[torch.zeros(3, h, w, dtype=torch.uint8) for h, w in sizes])


def test_the_checkpoint_records_the_size_its_batches_came_in():
    assert _recorded(_images((48, 144), (48, 144)), _images((48, 144)))['input_size'] == [48, 144]
    # the preprocessor pads a batch to its largest image
    assert batch_input_size(_images((32, 90), (30, 96))) == (32, 96)
    assert batch_input_size(dict(inputs=torch.zeros(2, 3, 20, 60))) == (20, 60)


def test_batches_of_several_sizes_or_none_record_none():
    assert 'input_size' not in _recorded(_images((48, 144)), _images((32, 96)))
    assert 'input_size' not in _recorded(dict(inputs=[torch.zeros(2)]))  # no images
    assert 'input_size' not in _recorded()


@pytest.mark.parametrize('meta, size', [
    (dict(input_size=[32, 96]), (32, 96)), (dict(input_size=(48, 144)), (48, 144)),
    ({}, None), (None, None), (dict(input_size='48x144'), None),
    (dict(input_size=[48, 0]), None), (dict(input_size=[True, 2]), None),
    (dict(input_size=[48, 144, 3]), None)])
def test_only_a_plain_pair_of_sizes_is_read_as_one(meta, size):
    assert recorded_input_size(meta) == size


@pytest.mark.parametrize('inputs', [
    torch.zeros(4),  # a custom set's scalars, stacked by default_collate: a ValueError
    torch.zeros(4, 2),  # (N, F) features: recorded as 4x2
    dict(img=torch.zeros(2, 3, 48, 144)),  # a dict of streams
    [torch.zeros(3, 48, 144), 'not an image'],
])
def test_a_batch_of_no_images_records_nothing_and_does_not_stop_the_run(inputs):
    """The hook runs before every training step of every run: a batch of a
    custom set it could not read stopped the run at its first step, or
    recorded its (N, F) as an image size."""
    assert batch_input_size(dict(inputs=inputs)) is None
    assert 'input_size' not in _recorded(dict(inputs=inputs))


def test_a_stacked_batch_of_images_records_their_size():
    assert batch_input_size(dict(inputs=torch.zeros(2, 3, 20, 60))) == (20, 60)
    assert batch_input_size(dict(inputs=(torch.zeros(1, 20, 60), ))) == (20, 60)
    # numpy images (a custom collate): no .dim(), an AttributeError at the first step
    assert batch_input_size(dict(inputs=[np.zeros((3, 32, 96)), np.zeros((32, 90))])) == \
        (32, 96)
