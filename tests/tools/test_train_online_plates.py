"""tools/train.py on plates rendered when read: each epoch reads new plates,
and a resumed run reads the same images (plates and augmentations) as an
unbroken run."""
import pytest
import torch

import dld.engine  # noqa: F401  (allow-list for torch.load below)

# The tiny teacher of conftest.py, trained on 8 online plates an epoch,
# augmented, read by two persistent workers (as the schedule's runs are):
# their generators are seeded once per process, not per epoch.
ONLINE = '''
_base_ = [{tiny!r}]
_augment = [dict(type='PlateRandomAffine', prob=1.0, keys=('img_hr', )),
            dict(type='PlatePhotometricDistort', prob=1.0, keys=('img_hr', ))]
train_dataloader = dict(
    num_workers=2, persistent_workers=True,
    sampler=dict(type='EpochOffsetSampler', shuffle=True),
    dataset=dict(_delete_=True, type='OnlineSynthPlateDataset', num_plates=8, seed=5,
                 with_lr=False, hr_size=(32, 96),
                 exclude_ann_files=[_base_.data + '/val.txt', _base_.data + '/test.txt'],
                 pipeline=_augment + _base_.hr_test_pipeline[1:]))
'''


@pytest.fixture(scope='module')
def online_config(tiny_teacher_config, tmp_path_factory):
    path = tmp_path_factory.mktemp('online') / 'tiny_online.py'
    path.write_text(ONLINE.format(tiny=tiny_teacher_config))
    return str(path)


# On a GPU, cuDNN's and atomic-add kernels differ from run to run unless
# deterministic ones are asked for: a resume cannot be more exact than that.
EXACT = ('randomness.deterministic=True', ) if torch.cuda.is_available() else ()


def _train(train_tool, config, work_dir, name, *extra):
    train_tool.main([config, '--work-dir', str(work_dir),
                     '--cfg-options', f'experiment_name={name}', *EXACT, *extra])


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


@pytest.mark.slow
def test_online_plates_resume_exactly_and_differ_from_epoch_to_epoch(
        online_config, train_tool, run_name, tmp_path):
    straight, broken, same = tmp_path / 'straight', tmp_path / 'broken', tmp_path / 'same'
    _train(train_tool, online_config, straight, run_name())
    _train(train_tool, online_config, broken, run_name(), 'train_cfg.max_epochs=2')
    train_tool.main([online_config, '--work-dir', str(broken), '--resume',
                     '--cfg-options', f'experiment_name={run_name()}', *EXACT])
    a, b = _weights(straight / 'epoch_3.pth'), _weights(broken / 'epoch_3.pth')
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), 'resume read other plates'
    # The default sampler reads epoch 0's plates again in epochs 1 and 2:
    # the same first epoch, then other weights.
    _train(train_tool, online_config, same, run_name(),
           'train_dataloader.sampler.type=DefaultSampler')
    first_a, first_same = _weights(straight / 'epoch_1.pth'), _weights(same / 'epoch_1.pth')
    assert all(torch.equal(first_a[k], first_same[k]) for k in first_a)
    c = _weights(same / 'epoch_3.pth')
    assert not all(torch.equal(a[k], c[k]) for k in a)
